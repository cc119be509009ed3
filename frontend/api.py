"""The UI's only way to the data: HTTP calls to the FlowLens REST API.

Reads send the UI server's own token (``FLOWLENS_API_TOKEN``) when it has one, for APIs that
need tokens on reads too. Writes send only the user's bearer ``token`` (the header's token field,
asked for after a write answered 401), never the server's: a shared link stays read-only.
"""

from __future__ import annotations

import httpx


class ApiError(Exception):
    def __init__(self, status: int, detail) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail


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

    def post(self, path: str, json=None, token: str | None = None):
        return self.request("POST", path, token=token, json=json)

    def post_file(self, path: str, filename: str, content: bytes, data: dict, token=None):
        """POST multipart form data with one file field named ``file``."""
        files = {"file": (filename, content)}
        return self.request("POST", path, token=token, files=files, data=data)
