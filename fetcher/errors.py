"""The errors fetcher raises on purpose.

Every error a user can cause or meet is a ``FetcherError``; anything else
escaping the library is a bug. The CLI turns a ``FetcherError`` into one
``error: ...`` line on stderr (plus the hint, when there is one) and the
error's exit code.

    FetcherError                 exit 2 unless stated
    ├── UsageError               bad command-line arguments or options
    ├── SpecError                invalid spec files (carries every problem found)
    ├── LedgerError              ledger unreadable, or of a newer schema
    │   └── LockHeldError        another reconciler holds the ledger (exit 1)
    ├── AuthError                service key unreadable or refused
    ├── OfflineError             work needs the network under --offline (exit 1)
    ├── RemoteError              a service answered badly or not at all (exit 1)
    │   └── ApiError             a service-level error body ({"msg": ...})
    ├── IntegrityError           bytes do not match size or checksum (exit 1)
    ├── StorageError             the data folder cannot be written: full, read-only (exit 1)
    └── ArchiveError             an archive is unsafe or corrupt, or a listed name
                                 would leave the data folder (exit 2)

Only ``fetcher.secrets`` (a leaf) is imported, so every other module may use this one.
Messages never contain secrets: callers pass names and URLs, never keys or tokens,
and the URLs an error keeps are redacted.
"""

from __future__ import annotations

from dataclasses import dataclass

from fetcher.secrets import redact


class FetcherError(Exception):
    """Root of fetcher's errors: a message for people, a hint, an exit code."""

    exit_code: int = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(FetcherError):
    """The command line asks for something that cannot be done."""


@dataclass(frozen=True)
class SpecProblem:
    """One mistake in a spec file, located to the character."""

    path: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.message}"


class SpecError(FetcherError):
    """One or more spec files are invalid; nothing was requested or written."""

    def __init__(self, problems: list[SpecProblem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.path, p.line, p.column))
        lines = [str(p) for p in self.problems]
        super().__init__(
            "\n".join(lines) if lines else "invalid spec",
            hint="fix the spec and run the command again; nothing was requested or written",
        )


class LedgerError(FetcherError):
    """The ledger cannot be opened, read or migrated."""


class LockHeldError(LedgerError):
    """Another reconciler holds this ledger: nothing is wrong with the input; try later."""

    exit_code = 1


class AuthError(FetcherError):
    """The CLMS service key is unusable, or the token endpoint refused it."""


class OfflineError(FetcherError):
    """``--offline`` was given but the work needs the network."""

    exit_code = 1


class RemoteError(FetcherError):
    """A remote service failed or answered something fetcher cannot use."""

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        status: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.url = None if url is None else redact(url)
        self.status = status


class ApiError(RemoteError):
    """The service refused a request with its own error body."""

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        status: int | None = None,
        server_message: str = "",
        hint: str | None = None,
    ) -> None:
        super().__init__(message, url=url, status=status, hint=hint)
        self.server_message = server_message


class IntegrityError(FetcherError):
    """Downloaded bytes do not match the size or checksum they must have."""

    exit_code = 1

    def __init__(self, message: str, *, path: str | None = None, url: str | None = None,
                 hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.path = path
        self.url = None if url is None else redact(url)


class StorageError(FetcherError):
    """The data folder cannot take the bytes: no space, no permission, read-only."""

    exit_code = 1


class ArchiveError(FetcherError):
    """An archive is corrupt, or holds something unsafe to extract."""

    def __init__(self, message: str, *, path: str | None = None,
                 hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.path = path
