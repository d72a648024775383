"""Redirects, HTTP Basic auth and per-path request counts on the files host."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from fetcher.emulator import Emulator, EmulatorConfig

FILE = "/random/1000/a.bin"


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(catalogue_size=0, files_password="open sesame")) as emulator:
        yield emulator


def session() -> requests.Session:
    """A session that ignores ~/.netrc and proxies, so tests see only what they send."""
    http = requests.Session()
    http.trust_env = False
    return http


def get(url: str, follow: bool = True, **kwargs: object) -> requests.Response:
    with session() as http, http.get(url, allow_redirects=follow, timeout=5,
                                     **kwargs) as answer:  # type: ignore[arg-type]
        answer.content  # noqa: B018 - read before closing
        return answer


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_one_redirect_to_a_real_file(emu: Emulator, status: int) -> None:
    hop = get(f"{emu.urls.files}/redirect/{status}{FILE}?seed=2", follow=False)
    final = get(f"{emu.urls.files}/redirect/{status}{FILE}?seed=2")
    assert (status, f"{emu.urls.files}{FILE}?seed=2") == (hop.status_code, hop.headers["Location"])
    assert ([status], 200, get(f"{emu.urls.files}{FILE}?seed=2").content) == (
        [r.status_code for r in final.history], final.status_code, final.content)


def test_a_chain_of_redirects(emu: Emulator) -> None:
    final = get(f"{emu.urls.files}/redirect/chain/5{FILE}")
    assert ([302] * 5, 200, 1000) == (
        [r.status_code for r in final.history], final.status_code, len(final.content))


def test_a_loop_and_counting_requests_per_path(emu: Emulator) -> None:
    emu.reset_stats()
    hop = get(f"{emu.urls.files}/redirect/loop", follow=False)
    assert hop.headers["Location"] == f"{emu.urls.files}/redirect/loop"
    with session() as http:
        http.max_redirects = 3
        with pytest.raises(requests.TooManyRedirects):
            http.get(f"{emu.urls.files}/redirect/loop", timeout=5)
    assert {"/redirect/loop": 5} == emu.requests_by_path("files")


def test_redirects_to_a_local_file_and_an_outside_host(emu: Emulator) -> None:
    passwd = get(f"{emu.urls.files}/redirect/passwd", follow=False)
    outside = get(f"{emu.urls.files}/redirect/external", follow=False)
    assert ("file:///etc/passwd", "http://example.org/x") == (
        passwd.headers["Location"], outside.headers["Location"])
    with pytest.raises(requests.exceptions.InvalidSchema):
        get(f"{emu.urls.files}/redirect/passwd")


def test_basic_auth_on_private_paths(emu: Emulator) -> None:
    url = f"{emu.urls.files}/private{FILE}"
    anonymous = get(url)
    wrong = get(url, auth=("reader", "guess"))
    right = get(url, auth=("reader", "open sesame"))
    in_url = get(url.replace("http://", "http://reader:open%20sesame@"))
    assert (401, 'Basic realm="emulator private files", charset="UTF-8"') == (
        anonymous.status_code, anonymous.headers["WWW-Authenticate"])
    assert (401, 200, 200) == (wrong.status_code, right.status_code, in_url.status_code)
    assert right.content == get(f"{emu.urls.files}{FILE}").content


def test_credentials_do_not_follow_a_change_of_host(emu: Emulator) -> None:
    url = f"{emu.urls.files}/redirect/localhost/private{FILE}"
    hop = get(url, follow=False)
    assert hop.headers["Location"].startswith("http://localhost:")
    assert 401 == get(url, auth=("reader", "open sesame")).status_code
