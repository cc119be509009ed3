"""The UI's only way to the data: HTTP calls to the FlowLens REST API.

Reads send the UI server's own token (``FLOWLENS_API_TOKEN``) when it has one, for APIs that
need tokens on reads too. Writes send only the user's bearer ``token`` (the header's token field,
asked for after a write answered 401), never the server's: a shared link stays read-only.
"""

from __future__ import annotations

from collections.abc import Collection

import httpx


class ApiError(Exception):
    def __init__(self, status: int, detail) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail


class WriteRefused(Exception):
    """A write the API refused (``status``: its HTTP status) or could not take (``status`` None).

    ``field_errors`` maps each field a 422 names (its ``loc`` after "body", dotted:
    ``params.batch_size``, ``name``) to its messages; ``message`` is the API's own text (401, 409,
    a 422 about no one field); ``needs_token`` is true when a token must be entered."""

    def __init__(
        self, status: int | None, message: str = "", field_errors: dict[str, str] | None = None
    ) -> None:
        self.status = status
        self.message = message
        self.field_errors = field_errors or {}
        super().__init__(self.describe("refused"))

    @classmethod
    def from_detail(cls, status: int, detail) -> WriteRefused:
        if not isinstance(detail, list):
            return cls(status, str(detail))
        fields: dict[str, list[str]] = {}
        for err in detail:
            field = ".".join(map(str, err.get("loc", [])[1:]))
            fields.setdefault(field, []).append(str(err.get("msg", "invalid")))
        return cls(status, field_errors={f: "; ".join(m) for f, m in fields.items()})

    @property
    def needs_token(self) -> bool:
        return self.status in (401, 403)

    def describe(self, action: str, shown: Collection[str] = ()) -> str:
        """One line for the page, e.g. "Upload refused (HTTP 422): name: ...", leaving out the
        field errors in ``shown`` (the page shows those beside their inputs)."""
        if self.status is None:
            return f"{action}: {self.message}"
        parts = [self.message] if self.message else []
        parts += [f"{f}: {m}" for f, m in self.field_errors.items() if f not in shown]
        if self.needs_token:
            parts.append("enter an API token in the header and try again")
        return f"{action} (HTTP {self.status})" + (f": {'; '.join(parts)}" if parts else "")


def auth_headers(token: str | None) -> dict[str, str]:
    token = (token or "").strip()
    return {"Authorization": f"Bearer {token}"} if token else {}


class Api:
    def __init__(self, base_url: str, timeout: float = 10.0, token: str | None = None) -> None:
        self.base = base_url.rstrip("/") + "/api"
        self.client = httpx.Client(timeout=timeout)
        self.token = token  # the server's own token (FLOWLENS_API_TOKEN), sent on reads

    def request(self, method: str, path: str, token: str | None = None, **kwargs):
        """Reads use the server's token; writes only ``token``, the user's own."""
        headers = auth_headers(self.token if method == "GET" else token)
        response = self.client.request(method, self.base + path, headers=headers, **kwargs)
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail")
            except (ValueError, AttributeError):
                detail = response.text
            raise ApiError(response.status_code, detail)
        return response.json()

    def get(self, path: str, **params):
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def write(self, method: str, path: str, token: str | None = None, **kwargs):
        """A write with the user's ``token``: the answer's JSON, or raises WriteRefused (every
        page that writes goes through here)."""
        try:
            return self.request(method, path, token=token, **kwargs)
        except ApiError as exc:
            raise WriteRefused.from_detail(exc.status, exc.detail) from None
        except httpx.HTTPError as exc:
            raise WriteRefused(None, f"API unreachable: {exc}") from None
