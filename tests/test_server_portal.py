"""The portal's pages over real HTTP, logged in with the cookie the login form sets."""

from __future__ import annotations

import io
import re
import uuid
import zipfile
from urllib.parse import urlencode

import requests

from infinity_workflows.schema import Param
from infinity_workflows.server.routers.portal import COOKIE_NAME, shown_value
from tests.support.api import finished_summary, job, login, submit
from tests.support.server import LiveServer, portal_login
from tests.support.tiny import TinyGenerator, _PNG_1x1
from tests.support.waiting import wait_for


def test_pages_need_login_and_login_takes_the_token_by_post(server: LiveServer
                                                           ) -> None:
    resp = requests.get(server.url + "portal/", allow_redirects=False, timeout=30)
    assert resp.status_code == 303 and resp.headers["location"] == "/portal/login/"
    for path in ("portal/generators/", f"portal/batch/{uuid.uuid4()}/"):
        resp = requests.get(server.url + path, allow_redirects=False, timeout=30)
        assert resp.status_code == 303
        assert resp.headers["location"] == f"/portal/login/?next=/{path}"
    form = requests.get(server.url + "portal/login/", timeout=30)
    assert 'method="post"' in form.text and 'type="password"' in form.text
    _, wrong = portal_login(server.url, "nope")
    assert wrong.status_code == 401 and "not known" in wrong.text
    assert COOKIE_NAME not in wrong.headers.get("set-cookie", "")
    for forged in ("1.deadbeef", "99999999999999999999999.00", "x", ".", "1."):
        resp = requests.get(server.url + "portal/", allow_redirects=False, timeout=30,
                            cookies={"infinity_portal_session": forged})
        assert resp.status_code == 303, forged
    # The root of the site leads to the portal.
    root = requests.get(server.url, allow_redirects=False, timeout=30)
    assert root.headers["location"] == "/portal/"


def test_batches_batch_page_thumbnail_and_logout(server: LiveServer) -> None:
    srv = server
    batch = submit(srv, [job(frames=4, color="blue"), job(fail=True)],
                   name="portal <batch> & co").json()
    finished_summary(srv, batch["id"])
    browser = login(srv)

    listing = browser.get(srv.url + "portal/", timeout=30)
    assert listing.status_code == 200
    assert "portal &lt;batch&gt; &amp; co" in listing.text  # escaped, never raw HTML
    assert f"/portal/batch/{batch['id']}/" in listing.text
    assert 'class="badge succeeded">1<' in listing.text
    assert 'class="badge failed">1<' in listing.text

    page = browser.get(srv.url + f"portal/batch/{batch['id']}/", timeout=30).text
    ok_id, failed_id = (j["id"] for j in batch["job_runs"])
    assert ok_id in page and failed_id in page
    assert "fail=True" in page  # the failing job's error text
    assert "frames=4" in page and "color=blue" in page
    assert 'http-equiv="refresh"' not in page  # all finished: no refreshing
    links = re.findall(r'href="([^"]*api/results/[^"]*)"', page)
    assert len(links) == 1 and ok_id in links[0]
    assert requests.get(links[0].replace("&amp;", "&"), timeout=30).status_code == 200
    thumb = browser.get(srv.url + f"portal/thumbnail/{ok_id}/", timeout=30)
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/png"
    assert thumb.content == _PNG_1x1
    assert browser.get(srv.url + f"portal/thumbnail/{failed_id}/", timeout=30
                       ).status_code == 404

    out = browser.post(srv.url + "portal/logout/", allow_redirects=False, timeout=30)
    assert out.status_code == 303
    assert browser.get(srv.url + "portal/", allow_redirects=False, timeout=30
                       ).status_code == 303


def test_batch_page_refreshes_while_jobs_run(server: LiveServer) -> None:
    srv = server
    batch = submit(srv, [job(sleep_s=3)]).json()
    browser = login(srv)
    page = browser.get(srv.url + f"portal/batch/{batch['id']}/", timeout=30).text
    assert 'http-equiv="refresh"' in page
    finished_summary(srv, batch["id"])
    page = browser.get(srv.url + f"portal/batch/{batch['id']}/", timeout=30).text
    assert 'http-equiv="refresh"' not in page


def test_portal_shows_only_your_own_batches(server: LiveServer) -> None:
    srv = server
    mine = submit(srv, [job()], name="only-mine").json()
    finished_summary(srv, mine["id"])
    other = login(srv, srv.new_token("portal other"))
    assert "only-mine" not in other.get(srv.url + "portal/", timeout=30).text
    assert other.get(srv.url + f"portal/batch/{mine['id']}/", timeout=30).status_code == 404
    job_id = mine["job_runs"][0]["id"]
    assert other.get(srv.url + f"portal/thumbnail/{job_id}/", timeout=30).status_code == 404
    assert other.get(srv.url + "portal/batch/not-a-uuid/", timeout=30).status_code == 404


def test_generator_page_documents_every_parameter(server: LiveServer) -> None:
    srv = server
    browser = login(srv)
    index = browser.get(srv.url + "portal/generators/", timeout=30).text
    assert "/portal/generators/tiny-v1/" in index and "tiny-gallery-v1" in index
    page = browser.get(srv.url + "portal/generators/tiny-v1/", timeout=30).text
    for param in TinyGenerator.schema:
        row = page.split(f'id="param-{param.name}"')[1].split("</tr>")[0]
        assert param.type in row and param.description in row
        if param.choices:
            assert all(f"<code>{c}</code>" in row for c in param.choices)
        if param.max is not None:
            assert str(param.max) in row
    assert "Gallery" not in page  # tiny-v1 has no gallery parameter
    assert browser.get(srv.url + "portal/generators/nothing/", timeout=30).status_code == 404


def test_gallery_renders_each_choice_once_and_caches_it(server: LiveServer) -> None:
    srv = server
    browser = login(srv)
    page = browser.get(srv.url + "portal/generators/tiny-gallery-v1/", timeout=30).text
    images = re.findall(r'src="(/portal/generators/tiny-gallery-v1/gallery/\d+/)"', page)
    assert len(images) == 3  # red, green, blue
    for src in images:
        resp = browser.get(srv.url + src.lstrip("/"), timeout=60)
        assert resp.status_code == 200 and resp.content == _PNG_1x1
    cached = list((srv.home / "gallery").rglob("*.png"))
    assert len(cached) == 3
    stamp = {p: p.stat().st_mtime_ns for p in cached}
    browser.get(srv.url + images[0].lstrip("/"), timeout=30)
    assert {p: p.stat().st_mtime_ns for p in cached} == stamp  # served from the cache
    assert browser.get(srv.url + "portal/generators/tiny-gallery-v1/gallery/3/",
                       timeout=30).status_code == 404
    assert requests.get(srv.url + images[0].lstrip("/"), allow_redirects=False,
                        timeout=30).status_code == 303  # the gallery needs a login too


def test_token_never_appears_in_portal_pages_or_urls(server: LiveServer) -> None:
    srv = server
    browser = login(srv)
    for path in ("portal/", "portal/generators/", "portal/generators/tiny-v1/"):
        resp = browser.get(srv.url + path, timeout=30)
        assert srv.token not in resp.text and srv.token not in resp.url
    wait_for(lambda: srv.log_path.exists(), what="server log")
    assert srv.token not in srv.log_path.read_text()


def test_big_batches_are_shown_a_page_at_a_time(server: LiveServer) -> None:
    srv = server
    batch = submit(srv, [job(True, frames=i % 1000 + 1) for i in range(501)]).json()
    browser = login(srv)
    first = browser.get(srv.url + f"portal/batch/{batch['id']}/", timeout=30).text
    assert "Page 1 of 2" in first and 'href="?page=2"' in first
    assert batch["job_runs"][499]["id"] in first and batch["job_runs"][500]["id"] not in first
    second = browser.get(srv.url + f"portal/batch/{batch['id']}/?page=2", timeout=30).text
    assert batch["job_runs"][500]["id"] in second and batch["job_runs"][0]["id"] not in second
    assert "queued:" in second  # counts cover the whole batch on every page


# -- issue 18: acting in the portal ------------------------------------------------------------
VIDEO = "tiny-video-v1"


def _form_value(page: str, action: str) -> str:
    """The hidden form value of the form posting to ``action`` on ``page``."""
    form = page.split(f'action="{action}"')[1].split("</form>")[0]
    return re.search(r'name="csrf" value="([^"]+)"', form).group(1)


def _login_to(url: str, location: str, token: str) -> requests.Response:
    """Follow a redirect to the login page as a browser would and log in there."""
    browser = requests.Session()
    form = browser.get(url + location.lstrip("/"), timeout=30).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    next_page = re.search(r'name="next" value="([^"]*)"', form).group(1)
    return browser.post(url + "portal/login/", timeout=30, allow_redirects=False,
                        data={"token": token, "csrf": csrf, "next": next_page})


def test_login_returns_to_the_page_asked_for_and_nowhere_else(server: LiveServer) -> None:
    srv = server
    batch = submit(srv, [job()]).json()
    wanted = f"/portal/batch/{batch['id']}/?page=1"
    first = requests.get(srv.url + wanted.lstrip("/"), allow_redirects=False, timeout=30)
    assert first.status_code == 303 and "next=" in first.headers["location"]
    answer = _login_to(srv.url, first.headers["location"], srv.token)
    assert answer.status_code == 303 and answer.headers["location"] == wanted

    # A login link cannot send a browser anywhere but a page of this portal.
    for hostile in ("https://evil.example/", "//evil.example/portal/", "/\\evil.example",
                    "/portal/../../evil", "javascript:alert(1)", "/portal/login/",
                    "/portal/\r\nSet-Cookie:x=1", "portal/"):
        answer = _login_to(srv.url, "/portal/login/?" + urlencode({"next": hostile}),
                           srv.token)
        assert answer.status_code == 303, hostile
        assert answer.headers["location"] == "/portal/", hostile


def test_login_page_says_where_the_token_is(server: LiveServer) -> None:
    page = requests.get(server.url + "portal/login/", timeout=30).text
    assert "infinity-workflows token show --server" in page
    assert "credentials.json" in page


def test_cancel_on_the_batch_page_is_checked_then_cancels(server: LiveServer) -> None:
    srv = server
    batch = submit(srv, [job(sleep_s=30) for _ in range(3)], name="to cancel").json()
    url = f"portal/batch/{batch['id']}/"
    action = f"/portal/batch/{batch['id']}/cancel/"
    browser = login(srv)
    page = browser.get(srv.url + url, timeout=30).text
    value = _form_value(page, action)
    assert srv.token not in page

    def statuses() -> set[str]:
        return {j["status"] for j in srv.get(f"api/batch/{batch['id']}/summary/").json()[
            "job_runs"]}

    # Refused: no form value, another site's Origin, another session's value.
    assert browser.post(srv.url + action.lstrip("/"), timeout=30, allow_redirects=False
                        ).status_code == 403
    assert browser.post(srv.url + action.lstrip("/"), data={"csrf": value}, timeout=30,
                        allow_redirects=False,
                        headers={"Origin": "https://evil.example"}).status_code == 403
    other = login(srv, srv.new_token("portal cancel other"))
    other_value = _form_value(other.get(srv.url + "portal/", timeout=30).text,
                              "/portal/logout/")
    assert other.post(srv.url + action.lstrip("/"), data={"csrf": value}, timeout=30,
                      allow_redirects=False).status_code == 403
    assert other.post(srv.url + action.lstrip("/"), data={"csrf": other_value}, timeout=30,
                      allow_redirects=False).status_code == 404  # not their batch
    assert "cancelled" not in statuses()

    done = browser.post(srv.url + action.lstrip("/"), data={"csrf": value}, timeout=30,
                        allow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == f"/{url}?cancelled=3"
    assert statuses() == {"cancelled"}
    after = browser.get(srv.url + done.headers["location"].lstrip("/"), timeout=30).text
    assert "Cancelled 3 job(s)" in after
    assert action not in after  # nothing left to cancel: no button


def test_finished_videos_play_on_their_rows(server: LiveServer) -> None:
    srv = server
    batch = submit(srv, [{**job(frames=8), "name": VIDEO}], name="videos").json()
    plain = submit(srv, [job(frames=2)], name="no videos").json()
    summary = finished_summary(srv, batch["id"])
    finished_summary(srv, plain["id"])
    video_job, plain_job = batch["job_runs"][0]["id"], plain["job_runs"][0]["id"]
    archive = requests.get(summary["job_runs"][0]["result_url"], timeout=30).content
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        expected = zf.read(f"{video_job}/video.mp4")

    browser = login(srv)
    page = browser.get(srv.url + f"portal/batch/{batch['id']}/", timeout=30).text
    row = page.split(f'id="job-{video_job}"')[1].split("</tr>")[0]
    assert '<video class="job" controls' in row and f'src="/portal/video/{video_job}/"' in row
    plain_page = browser.get(srv.url + f"portal/batch/{plain['id']}/", timeout=30).text
    plain_row = plain_page.split(f'id="job-{plain_job}"')[1].split("</tr>")[0]
    assert "<video" not in plain_row and "thumbnail" in plain_row  # no video: its picture
    assert srv.token not in page

    link = srv.url + f"portal/video/{video_job}/"
    whole = browser.get(link, timeout=30)
    assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
    assert whole.headers["accept-ranges"] == "bytes" and whole.content == expected
    size = len(expected)
    part = browser.get(link, headers={"Range": "bytes=0-99"}, timeout=30)
    assert part.status_code == 206 and part.content == expected[:100]
    assert part.headers["content-range"] == f"bytes 0-99/{size}"
    tail = browser.get(link, headers={"Range": "bytes=-10"}, timeout=30)
    assert tail.status_code == 206 and tail.content == expected[-10:]
    middle = browser.get(link, headers={"Range": "bytes=100-"}, timeout=30)
    assert middle.content == expected[100:]
    beyond = browser.get(link, headers={"Range": f"bytes={size}-"}, timeout=30)
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{size}"

    # Only for the logged-in owner, and only jobs with a video.
    assert requests.get(link, allow_redirects=False, timeout=30).status_code == 303
    other = login(srv, srv.new_token("portal video other"))
    assert other.get(link, timeout=30).status_code == 404
    assert browser.get(srv.url + f"portal/video/{plain_job}/", timeout=30).status_code == 404


def test_parameters_are_shown_as_their_schema_rounds_them(server: LiveServer) -> None:
    srv = server
    batch = submit(srv, [job(frames=7.0, scale=1 / 3, sleep_s=0.1 + 0.2)]).json()
    browser = login(srv)
    page = browser.get(srv.url + f"portal/batch/{batch['id']}/", timeout=30).text
    summary = re.search(r'<summary class="mono">([^<]*)</summary>', page).group(1)
    assert summary == "frames=7, scale=0.333, sleep_s=0.3"
    assert 'title="0.3333333333333333"' in page  # the exact value, on hover

    scale = Param("scale", "float", 1.0, min=0.0, max=10.0)
    free = Param("free", "float", 0.0)
    count = Param("count", "int", 1)
    assert shown_value(scale, 2.0) == "2" and shown_value(scale, 0.00049) == "0"
    assert shown_value(Param("angle", "float", 0.0, min=-180, max=180), 12.3456) == "12.35"
    assert shown_value(free, 1234.56789) == "1234.6" and shown_value(free, 1e-7) == "1e-07"
    assert shown_value(count, 2.0) == "2" and shown_value(None, 3) == "3"
    assert shown_value(None, True) == "True" and shown_value(scale, None) == "null"
