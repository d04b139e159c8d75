"""Reading many blobs at once through one `git cat-file --batch` process.

One process for a whole batch: spawning git per blob costs ~10 ms each, and dulwich's pack reader
is slower than git's for thousands of objects (DESIGN.md, measured).

Where the objects are loose (a repository that was never packed, or a local clone that
hard-linked such objects), each costs git an open and an inflate: 50,000 of them took 4 s where
reading the same files from the work tree took 1.4 s. Packed, git streams them in 0.2 s. So
`read_files` takes a clean work-tree file when the objects are mostly loose, after checking that
its bytes hash to the blob id (filters, sparse checkouts and local edits all fail that check and
fall back to git).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import stat
import subprocess
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from gitext.errors import GitError
from gitext.git.run import clean_env, git


def read_blobs(
    root: Path, shas: Iterable[str], *, max_size: int | None = None
) -> Iterator[tuple[str, bytes | None]]:
    """(sha, content) in the order asked; content None when missing, not a blob, or too big."""
    wanted = list(dict.fromkeys(shas))
    if not wanted:
        return
    proc = subprocess.Popen(
        ["git", "cat-file", "--batch", "--buffer"],
        cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        env=clean_env(),
    )
    assert proc.stdin is not None and proc.stdout is not None
    stdin = proc.stdin

    def feed() -> None:
        # Requests go in from a thread while this one reads: writing them all first could fill
        # both pipes and deadlock, and a flush per request costs a round trip per blob.
        try:
            stdin.write("".join(s + "\n" for s in wanted).encode())
        except BrokenPipeError:
            pass
        finally:
            with contextlib.suppress(BrokenPipeError):
                stdin.close()

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    out = proc.stdout
    try:
        for sha in wanted:
            header = out.readline()
            if not header:
                raise GitError("git cat-file stopped unexpectedly")
            parts = header.split()
            if len(parts) == 2 and parts[1] == b"missing":
                yield sha, None
                continue
            kind, size = parts[1], int(parts[2])
            data = out.read(size)
            out.read(1)  # the newline after each object
            if kind != b"blob" or (max_size is not None and size > max_size):
                yield sha, None
            else:
                yield sha, data
    finally:
        out.close()
        proc.kill()
        proc.wait()
        feeder.join()


def read_blob(root: Path, sha: str) -> bytes | None:
    for _, data in read_blobs(root, [sha]):
        return data
    return None


def mostly_loose(root: Path) -> bool:
    """Whether this repository keeps more objects loose than packed (`git count-objects`'s
    `count` > `in-pack`), counted here: count-objects stats every loose object for sizes this
    does not need (0.35 s of a 50,000-file first index), and the count can stop as soon as
    the loose objects outnumber the packed ones."""
    proc = git(["rev-parse", "--git-path", "objects"], root, check=False)
    if proc.returncode != 0:
        return False
    objects = root / os.fsdecode(proc.stdout.rstrip(b"\n"))
    packed = _packed_count(objects / "pack")
    loose = 0
    for i in range(256):
        try:
            names = os.listdir(objects / f"{i:02x}")
        except OSError:
            continue
        loose += sum(1 for name in names if len(name) in (38, 62) and _HEX.issuperset(name))
        if loose > packed:
            return True
    return False


_HEX = frozenset("0123456789abcdef")


def _packed_count(pack_dir: Path) -> int:
    """Objects in this directory's packs, from each index's fan-out table (its last entry is
    the pack's object count); a pack git could not use (no index, no pack) counts none."""
    total = 0
    try:
        names = os.listdir(pack_dir)
    except OSError:
        return 0
    for name in names:
        if not name.endswith(".idx") or name[:-4] + ".pack" not in names:
            continue
        try:
            with open(pack_dir / name, "rb") as fh:
                head = fh.read(8 + 256 * 4)
        except OSError:
            continue
        # Version 2 and later start with a magic and a version; version 1 with the fan-out.
        start = 8 if head[:4] == b"\377tOc" else 0
        last = head[start + 255 * 4 : start + 256 * 4]
        if len(last) == 4:
            total += int.from_bytes(last, "big")
    return total


def blob_id(data: bytes, like: str) -> str:
    """git's id of a blob with this content, in the object format of `like` (SHA-1 or -256)."""
    return blob_id_in(data, "sha1" if len(like) == 40 else "sha256")


def blob_id_in(data: bytes, object_format: str) -> str:
    """git's id of a blob with this content, in `object_format` (``sha1`` or ``sha256``, as
    `git rev-parse --show-object-format` names it)."""
    h = hashlib.new(object_format)
    h.update(b"blob %d\0" % len(data))
    h.update(data)
    return h.hexdigest()


def file_blob_id(path: Path, object_format: str) -> str:
    """`blob_id_in` of a file's bytes, read in pieces: it may be larger than memory."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        h = hashlib.new(object_format)
        h.update(b"blob %d\0" % size)
        left = size
        while left > 0:
            piece = f.read(min(left, 1 << 20))
            if not piece:
                raise OSError(f"{path} shrank while it was read")
            h.update(piece)
            left -= len(piece)
    return h.hexdigest()


_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


def _from_worktree(base: str, path: str, blob: str, max_size: int | None
                   ) -> tuple[bytes, float] | None:
    # No following links, and no waiting on a FIFO someone left where a file was.
    try:
        fd = os.open(base + path, _FLAGS)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        size = st.st_size
        if not stat.S_ISREG(st.st_mode) or (max_size is not None and size > max_size):
            return None
        # One read of the size fstat gave is the whole file unless it changed meanwhile; the
        # hash check below holds either way (a read to EOF was one more call per file).
        data = os.read(fd, size)
        if len(data) != size:
            parts = [data]
            while chunk := os.read(fd, max(size, 65536)):
                parts.append(chunk)
            data = b"".join(parts)
    except OSError:
        return None
    finally:
        os.close(fd)
    return (data, st.st_mtime) if blob_id(data, blob) == blob else None


@functools.lru_cache(maxsize=64)
def is_partial(root: Path) -> bool:
    """A partial clone (`git clone --filter=blob:none`): a blob it lacks, git fetches from the
    remote when a command needs its content, one round trip per batch, and fails offline."""
    out = git(["config", "--get-regexp", r"^(extensions\.partialclone|remote\..*\.promisor)$"],
              root, check=False).stdout.decode("utf-8", "replace")
    return any(line.split(" ", 1)[-1].strip().lower() not in ("false", "no", "off", "0")
               for line in out.splitlines())


def local_blobs(root: Path) -> set[str]:
    """The blobs of HEAD's tree that this clone has, asked without fetching any
    (`--missing=print` lists what is absent instead of fetching it). Not the index's: a sparse
    checkout's index names every file, present or not."""
    tree = git(["rev-list", "--objects", "--missing=print", "--no-object-names", "-n1", "HEAD"],
               root, check=False).stdout.decode("ascii", "replace").split()
    return {oid for oid in tree if not oid.startswith("?")}


def read_files(
    root: Path, items: Iterable[tuple[str, str]], *, max_size: int | None = None,
    loose: bool | None = None, mtimes: dict[str, float] | None = None,
    absent: set[str] | None = None,
) -> Iterator[tuple[str, bytes | None]]:
    """(blob, content) for (path, blob) pairs: from the work tree where that is cheaper and the
    file there is exactly the blob, from git otherwise. Order is not kept. `loose` is
    `mostly_loose(root)`, for a caller that reads in many batches. `mtimes` receives the
    modification time of each path read from the work tree (saving its caller an lstat), and
    `absent` the blobs a partial clone lacks (below).

    In a partial clone the work tree comes first, and git is asked only for blobs the clone
    has: a blob it lacks (outside a sparse checkout) is content None, as a file too big is,
    rather than a fetch from the remote for every file of the tree."""
    pairs = list(items)
    rest: list[str] = []
    partial = bool(pairs) and is_partial(root)
    if pairs and (partial or (mostly_loose(root) if loose is None else loose)):
        base = str(root) + os.sep
        seen: set[str] = set()
        for path, blob in pairs:
            if blob in seen:
                continue
            seen.add(blob)
            read = _from_worktree(base, path, blob, max_size)
            if read is None:
                rest.append(blob)
                continue
            if mtimes is not None:
                mtimes[path] = read[1]
            yield blob, read[0]
    else:
        rest = [blob for _, blob in pairs]
    if partial and rest:
        here = local_blobs(root)
        if absent is not None:
            absent.update(blob for blob in rest if blob not in here)
        yield from ((blob, None) for blob in rest if blob not in here)
        rest = [blob for blob in rest if blob in here]
    yield from read_blobs(root, rest, max_size=max_size)
