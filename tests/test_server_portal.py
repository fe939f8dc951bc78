"""The portal's pages over real HTTP, logged in with the cookie the login form sets."""

from __future__ import annotations

import re
import uuid

import requests

from infinity_workflows.server.routers.portal import COOKIE_NAME
from tests.support.api import finished_summary, job, login, submit
from tests.support.server import LiveServer, portal_login
from tests.support.tiny import TinyGenerator, _PNG_1x1
from tests.support.waiting import wait_for


def test_pages_need_login_and_login_takes_the_token_by_post(server: LiveServer
                                                           ) -> None:
    for path in ("portal/", "portal/generators/", f"portal/batch/{uuid.uuid4()}/"):
        resp = requests.get(server.url + path, allow_redirects=False, timeout=30)
        assert resp.status_code == 303 and resp.headers["location"] == "/portal/login/"
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
