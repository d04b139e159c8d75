"""Secret file names and key-shaped strings."""

from __future__ import annotations

import pytest

from gitext.index.secrets import (
    REDACTED,
    find_secret_patterns,
    is_secret_path,
    redact,
    redact_text,
)


@pytest.mark.parametrize(
    "path",
    [
        ".env",
        "backend/.env",
        ".env.local",
        ".envrc",
        "app/.env-prod",
        ".env_local",
        "deploy/.env.production",
        "certs/server.pem",
        "certs/SERVER.PEM",
        "tls/private.key",
        ".ssh/id_rsa",
        "keys/id_rsa.pub",
        "id_dsa",
        "home/id_ecdsa",
        "home/.ssh/id_ed25519",
        "credentials",
        "aws/credentials",
        "config/credentials.json",
        "gcp/Credentials.yml",
        "signing/store.p12",
        "signing/cert.pfx",
        ".netrc",
        "home/.pgpass",
        "config/secrets.yml",
        "deploy/Secrets.JSON",
        "secret.toml",
        "client_secret_123-abc.apps.googleusercontent.com.json",
        "gcp/service-account.json",
        "ops/service_account_prod.json",
        "serviceAccountKey.json",
        # Credential files of common tools (QA round 26d: 01)
        ".git-credentials",
        "home/.pypirc",
        "deploy/server.ppk",
        "web/.htpasswd",
        ".dockercfg",
        "dotfiles/.docker/config.json",
        "kubeconfig",
        "ops/kubeconfig-prod.yaml",
        "home/.kube/config",
        "infra/prod.tfvars",
        "infra/terraform.tfvars.json",
    ],
)
def test_secret_paths(path: str) -> None:
    assert is_secret_path(path)


@pytest.mark.parametrize(
    "path",
    [
        "src/env.py",
        "docs/environment.md",
        "envoy.yaml",
        "keyboard.c",
        "src/keys.py",
        "monkey.js",
        "pem_utils.py",
        "credentials_test_helper.py",
        "my_credentials.json",
        "id_rsa_docs/README.md",
        "netrc.py",
        ".environment.md",
        ".envoy.yaml",
        "README.md",
        "lib/secrets.py",
        "docs/secrets.md",
        "secretsanta.yml",
        "service.json",
        "client.json",
        "google/oauth2/service_account.py",
        "auth/client_secret.go",
        "service-account-docs.md",
        ".npmrc",  # plain settings, commonly committed: a token in it is redacted by its shape
        "config/config.json",
        "docker/config.json",
        "pkg/kubeconfig.go",
        "kube/config.go",
        "infra/terraform.tfvars.example",
        "putty/ppk.c",
    ],
)
def test_ordinary_paths(path: str) -> None:
    assert not is_secret_path(path)


AWS = "AKIA" + "IOSFODNN7EXAMPLE"
GITHUB = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
GITHUB_FINE = "github_pat_" + "11ABCDEFG0" * 6
OPENAI = "sk-" + "proj-" + "Abc123def456GHI789jkl012"
ANTHROPIC = "sk-" + "ant-api03-" + "Zx9Yw8Vu7Ts6Rq5Po4Nm3"
SLACK = "xoxb-" + "123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
GOOGLE = "AIza" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q"


def test_each_key_kind_with_its_line() -> None:
    text = "\n".join(
        [
            "# settings",
            f"AWS_ACCESS_KEY_ID = '{AWS}'",
            f"token: {GITHUB}",
            f'OPENAI_API_KEY="{OPENAI}"',
            f"ANTHROPIC_API_KEY={ANTHROPIC}",
            f"slack = {SLACK}",
            f"maps_key = '{GOOGLE}'",
            "-----BEGIN RSA PRIVATE KEY-----",
            "MIIEowIBAAKCAQEA",
            "-----END RSA PRIVATE KEY-----",
            f"pat = {GITHUB_FINE}",
        ]
    )
    assert find_secret_patterns(text) == [
        (2, "aws-access-key"),
        (3, "github-token"),
        (4, "openai-api-key"),
        (5, "anthropic-api-key"),
        (6, "slack-token"),
        (7, "google-api-key"),
        (8, "private-key"),
        (11, "github-token"),
    ]


NPM = "npm_" + "Zq8mK2pL9xR4vT7wY1bN3cF6hJ0dS5gA2eQ4"
PYPI = "pypi-" + "AgEIcHlwaS5vcmcCJDdkYzQ0ZTc1LWI5MzQtNDFi"
GITLAB = "glpat-" + "Xy12Ab34Cd56Ef78Gh90"
PPK_MATERIAL = "AAAAIBc2fPrivMaterialXk9LmN0pQrStUvWxYz0123456789abcdEfGh"
PPK = ("PuTTY-User-Key-File-" + "3: ssh-ed25519\nEncryption: none\nComment: deploy@server\n"
       "Public-Lines: 2\nAAAAC3NzaC1lZDI1NTE5AAAAIFxJqv7q1H0a3ZQK8xQp2m3o9c0R1lQ3m5V7a8W6\n"
       "Yt0p\nPrivate-Lines: 1\n" + PPK_MATERIAL + "\nPrivate-MAC: 0a1b2c3d4e5f6071\n")


def test_token_shapes_of_package_registries_and_gitlab() -> None:
    """npm, PyPI and GitLab tokens, an `.npmrc` login and a PuTTY key were read as ordinary
    text: indexed, and passed by the guard (QA round 26d: 01)."""
    text = "\n".join([
        f"//registry.npmjs.org/:_authToken={NPM}",
        f"password = {PYPI}",
        f"https://qa:{GITLAB}@gitlab.example.com",
        "//npm.corp.example/:_auth=" + "dXNlcjpodW50ZXIy",
        "//npm.corp.example/:_password = \"aHVudGVyMg==\"",
        PPK,
    ])
    assert find_secret_patterns(text) == [
        (1, "npm-auth"), (1, "npm-token"), (2, "pypi-token"), (3, "gitlab-token"),
        (4, "npm-auth"), (5, "npm-auth"), (6, "putty-key"),
    ]
    done = redact_text(text)
    assert done.count("\n") == text.count("\n")
    for secret in (NPM, PYPI, GITLAB, "dXNlcjpodW50ZXIy", "aHVudGVyMg", PPK_MATERIAL, "Private"):
        assert secret not in done
    assert done.splitlines()[2] == f"https://qa:{REDACTED}@gitlab.example.com"


@pytest.mark.parametrize(
    "text",
    [
        "//registry.npmjs.org/:_authToken=${NPM_TOKEN}",
        "//registry.npmjs.org/:_authToken=<your token>",
        "//registry.npmjs.org/:_password=\"${NPM_PASSWORD}\"",
        "process.env.npm_config_registry",
        "npm_" + "Zq8mK2pL9xR4vT7wY1bN3cF6",  # too short
        "pypi-" + "requests-2.31.0",
        "glpat-" + "short",
        'if line.startswith("PuTTY-User-Key-File-"):',
    ],
)
def test_near_misses_of_the_new_shapes(text: str) -> None:
    assert find_secret_patterns(text) == []
    assert redact_text(text) == text


def test_a_putty_key_cut_short_is_redacted_through_its_private_lines() -> None:
    text = "before\n" + PPK.split("Private-MAC")[0] + "after = 1\n"
    done = redact_text(text)
    assert PPK_MATERIAL not in done and done.endswith("\nafter = 1\n")
    assert done.count("\n") == text.count("\n")


@pytest.mark.parametrize("prefix", ["ghp_", "gho_", "ghs_", "ghu_"])
def test_github_token_prefixes(prefix: str) -> None:
    assert find_secret_patterns(f"x = {prefix}{'A1' * 18}") == [(1, "github-token")]


@pytest.mark.parametrize(
    "header",
    [
        "-----BEGIN PRIVATE KEY-----",
        "-----BEGIN OPENSSH PRIVATE KEY-----",
        "-----BEGIN EC PRIVATE KEY-----",
        "-----BEGIN ENCRYPTED PRIVATE KEY-----",
        "-----BEGIN PGP PRIVATE KEY BLOCK-----",
    ],
)
def test_private_key_blocks(header: str) -> None:
    assert find_secret_patterns(f"{header}\nabc\n") == [(1, "private-key")]


def test_one_entry_per_line_and_kind() -> None:
    assert find_secret_patterns(f"{AWS} {AWS}\n\n{AWS}") == [
        (1, "aws-access-key"),
        (3, "aws-access-key"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "AKIA" + "IOSFODNN7EXAMPL",  # one character short
        "XAKIA" + "IOSFODNN7EXAMPLE",  # inside a longer word
        "AKIA" + "IOSFODNN7EXAMPLEX",  # too long
        "AKIA" + "iosfodnn7example",  # lower case
        "ghp_" + "short",
        "my_ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
        "github_pat_" + "tooShort",
        "sk-" + "short-key",
        "task-" + "abcdefghijklmnopqrstuvwxyz0123",
        "desk-" + "abcdefghijklmnopqrstuvwxyz0123",
        "xoxb-" + "1234",
        "noxoxb-" + "123456789012-1234567890123-AbCdEfGhIjKl",
        "AIza" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6",  # 34 characters
        "AIza" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Qx",  # 36 characters
        "-----BEGIN PUBLIC KEY-----",
        "-----BEGIN CERTIFICATE-----",
        "the private key is stored elsewhere",
    ],
)
def test_near_misses(text: str) -> None:
    assert find_secret_patterns(text) == []


def test_large_text_is_quick_and_exact() -> None:
    filler = "x = compute(value, other) # AKIA sk- ghp_ xox AIza\n" * 50_000
    text = filler + f"key = {AWS}\n" + filler
    assert find_secret_patterns(text) == [(50_001, "aws-access-key")]


KEY_BODY_LINE = "MIIEowIBAAKCAQEAx2hVYrXSAMPLEONLYb3BlbnNzaC1rZXk"
KEY_FILE = (
    "-----BEGIN OPENSSH " + "PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n"
    "AAAAC3NzaC1lZDI1NTE5AAAAIG5vdGFyZWFsa2V5\n"
    "-----END OPENSSH " + "PRIVATE KEY-----\n"
)


def test_redact_replaces_keys_and_keeps_lines() -> None:
    text = f'NAME = "demo"\nAWS = "{AWS}"\ndef connect():\n    pass\n' + KEY_FILE + "tail\n"
    done = redact_text(text)
    assert AWS not in done and "b3Blbn" not in done and "AAAAC3" not in done
    assert done.count("\n") == text.count("\n")  # line numbers of everything else hold
    lines = done.splitlines()
    assert lines[1] == f'AWS = "{REDACTED}"' and lines[2] == "def connect():"
    assert lines[4] == REDACTED and lines[5:8] == ["", "", ""] and lines[8] == "tail"
    assert find_secret_patterns(done) == []


def test_redact_a_key_block_without_its_footer_to_the_end() -> None:
    done = redact_text("x = 1\n" + KEY_FILE.rsplit("-----END", 1)[0])
    assert done == "x = 1\n" + REDACTED + "\n\n\n"


def test_redact_bytes_keeps_other_encodings_and_is_free_when_clean() -> None:
    latin = "café = 1\n".encode("latin-1") + f"k = {AWS}\n".encode()
    assert redact(latin) == "café = 1\n".encode("latin-1") + f"k = {REDACTED}\n".encode()
    clean = b"def f():\n    return 1\n"
    assert redact(clean) is clean


def test_text_that_only_names_a_key_header_keeps_the_rest() -> None:
    header = "-----BEGIN RSA " + "PRIVATE KEY-----"
    code = (f'def is_key(text):\n    return text.startswith("{header}")\n\n\n'
            "def parse_deployment_manifest(path):\n    return path\n")
    done = redact_text(code)
    assert "parse_deployment_manifest" in done and "return path" in done
    assert header not in done and done.count("\n") == code.count("\n")


def test_a_key_block_with_armor_headers_and_a_short_last_line() -> None:
    header, footer = "-----BEGIN RSA " + "PRIVATE KEY-----", "-----END RSA " + "PRIVATE KEY-----"
    text = (f"  {header}\n  Proc-Type: 4,ENCRYPTED\n  DEK-Info: AES-128-CBC,AB12\n\n"
            f"  {KEY_BODY_LINE}\n  Yw\n  {footer}\nafter = 1\n")
    done = redact_text(text)
    assert done.splitlines()[-1] == "after = 1" and "Yw" not in done and "Proc" not in done
    assert done.count("\n") == text.count("\n")


def test_many_headers_without_footers_each_redact_only_themselves() -> None:
    # Each header used to look for a footer to the end of the text: quadratic, a minute for a
    # megabyte of such lines, and all of it lost to search.
    header = "-----BEGIN " + "PRIVATE KEY-----"
    text = "".join(f'check("{header}")  # {i}\n' for i in range(20_000))
    assert redact_text(text) == "".join(f'check("{REDACTED}")  # {i}\n' for i in range(20_000))


@pytest.mark.parametrize("before", ["\\n", "\\t", "%3D", "%2f"])
def test_a_key_right_after_an_escape_is_found(before: str) -> None:
    for key in (AWS, GOOGLE):
        text = f'{{"env": "X{before}{key}"}}'
        assert find_secret_patterns(text) != []
        assert key not in redact_text(text)


def test_a_key_inside_a_longer_word_is_not_one() -> None:
    assert find_secret_patterns("XX" + AWS) == [] and find_secret_patterns("nn" + AWS) == []


@pytest.mark.parametrize("newline", ["\\n", "\\\\n", "\\r\\n"])
def test_a_key_inside_a_string_is_redacted_through_its_footer(newline: str) -> None:
    """A service-account JSON (or a key exported into .env or YAML) holds the whole key on one
    line, its breaks escaped: only the header line went, and the key itself was indexed."""
    header, footer = "-----BEGIN " + "PRIVATE KEY-----", "-----END " + "PRIVATE KEY-----"
    key = f"{header}{newline}{KEY_BODY_LINE}{newline}Yw=={newline}{footer}{newline}"
    text = f'{{"type": "service_account",\n "private_key": "{key}",\n "client_email": "x@y"}}\n'
    done = redact_text(text)
    assert KEY_BODY_LINE not in done and "Yw==" not in done and footer not in done
    assert done == text.replace(key.rsplit(newline, 1)[0], REDACTED)
    assert find_secret_patterns(done) == []


def test_a_key_inside_a_string_cut_short_is_redacted_to_the_string_s_end() -> None:
    header = "-----BEGIN RSA " + "PRIVATE KEY-----"
    text = f'KEY="{header}\\n{KEY_BODY_LINE}\\nabc="\nNEXT=1\n'
    assert redact_text(text) == f'KEY="{REDACTED}"\nNEXT=1\n'


def test_a_key_in_joined_string_pieces_is_redacted_through_its_footer() -> None:
    """JavaScript's `"…\\n" +` on each line, or Python's adjacent literals: the material is on
    the lines after the header, but not at their start, so only the header went (QA round 23:
    02)."""
    header, footer = "-----BEGIN " + "PRIVATE KEY-----", "-----END " + "PRIVATE KEY-----"
    js = (f'const key = "{header}\\n" +\n  "{KEY_BODY_LINE}\\n" +\n  "Yw==\\n" +\n'
          f'  "{footer}\\n";\nconst other = 1;\n')
    py = f'KEY = (\n    "{header}\\n"\n    "{KEY_BODY_LINE}\\n"\n    "{footer}\\n"\n)\nx = 2\n'
    for text in (js, py):
        done = redact_text(text)
        assert KEY_BODY_LINE not in done and footer not in done, done
        assert done.count("\n") == text.count("\n") and done.splitlines()[-1] in ("x = 2",
                                                                                 "const other = 1;")


@pytest.mark.parametrize("between", [" ", ""])
def test_a_key_on_one_line_with_spaces_or_nothing_for_breaks(between: str) -> None:
    """A PEM pasted into a setting with its breaks turned into spaces (QA round 23: 08)."""
    header, footer = "-----BEGIN RSA " + "PRIVATE KEY-----", "-----END RSA " + "PRIVATE KEY-----"
    text = f'DEPLOY_KEY = "{header}{between}{KEY_BODY_LINE}{between}Yw=={between}{footer}"\nz = 3\n'
    assert redact_text(text) == f'DEPLOY_KEY = "{REDACTED}"\nz = 3\n'


def test_code_naming_a_header_and_a_footer_keeps_what_is_between() -> None:
    header, footer = "-----BEGIN " + "PRIVATE KEY-----", "-----END " + "PRIVATE KEY-----"
    code = (f'HEADER = "{header}"\nFOOTER = "{footer}"\n\n\ndef parse_pem_payload(pem):\n'
            "    return pem.split(HEADER)[1].split(FOOTER)[0]\n")
    done = redact_text(code)
    assert "parse_pem_payload" in done and f'FOOTER = "{footer}"' in done
