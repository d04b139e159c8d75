"""Pure functions over file contents: languages, relationships, snippets and secrets."""
