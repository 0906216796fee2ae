"""The edge cache (uptake.web.edge): an anonymous GET of an answer already built for this snapshot is answered
before the middlewares and routing, with the body and headers the full path gave; everything else goes the full
path."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from web_support import sign_in

PUBLIC = ["/", "/innovations/doacs", "/innovations/doacs?indicator=doac-share&level=icb", "/organisations/QMJ",
          "/api/v1/values?indicator=doac-share&level=icb", "/api/v1/indicators"]


def _full_path_refused(web, monkeypatch) -> None:
    """From now on the full path cannot answer a page or an API call: only the edge can."""
    from uptake.web.api import common

    def refuse(*args, **kwargs):
        raise AssertionError("the full path was taken")

    monkeypatch.setattr(web, "cached_page", refuse)
    monkeypatch.setattr(web, "shared", refuse)
    monkeypatch.setattr(common, "_etag", refuse)


def _headers(response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k not in ("date", "server")}


@pytest.mark.parametrize("encoding", ["gzip", "identity"])
def test_a_repeated_anonymous_get_is_answered_at_the_edge_as_the_full_path_answered(fresh_app, monkeypatch, encoding):
    with TestClient(fresh_app) as client:
        first = {url: client.get(url, headers={"accept-encoding": encoding}) for url in PUBLIC}
        for url, response in first.items():
            assert response.status_code == 200, url
        _full_path_refused(fresh_app.state.web, monkeypatch)
        for url, response in first.items():
            again = client.get(url, headers={"accept-encoding": encoding})
            assert again.status_code == 200, url
            assert again.content == response.content, url
            assert _headers(again) == _headers(response), url
            assert "content-security-policy" in again.headers  # the security headers are replayed


def test_htmx_partials_and_full_pages_are_kept_apart(fresh_app, monkeypatch):
    url = "/innovations/doacs?indicator=doac-share&level=icb"
    with TestClient(fresh_app) as client:
        full = client.get(url)
        partial = client.get(url, headers={"HX-Request": "true"})
        assert full.content != partial.content
        _full_path_refused(fresh_app.state.web, monkeypatch)
        assert client.get(url, headers={"HX-Request": "true"}).content == partial.content
        assert client.get(url).content == full.content


def test_signed_in_revalidating_and_bodied_requests_take_the_full_path(fresh_app, demo, monkeypatch):
    url = "/innovations/doacs"
    with TestClient(fresh_app) as client:
        public = client.get(url)
        etag = public.headers["etag"]
        assert client.get(url, headers={"if-none-match": etag}).status_code == 304  # the full path's 304
        sign_in(client, demo.users["provider-lead"].email)
        mine = client.get(url)
        assert mine.headers["cache-control"] == "private, no-store"  # built for this person, not the edge's
        with TestClient(fresh_app) as other:
            _full_path_refused(fresh_app.state.web, monkeypatch)
            with pytest.raises(AssertionError, match="full path"):
                other.get(url, headers={"authorization": "Bearer nope"})
            assert other.get(url).status_code == 200  # anonymous again: the edge


def test_mission_answers_are_kept_at_the_edge_with_the_stamp_and_a_new_stamp_shows_on_the_next_request(
        fresh_app, monkeypatch):
    from uptake.web.mission import common as mission_common

    web = fresh_app.state.web
    urls = ("/nsf", "/ratings", "/api/v1/ratings/watch-list")
    with TestClient(fresh_app) as client:
        first = {url: client.get(url) for url in urls}
        assert all(response.status_code == 200 for response in first.values()), first
        stamp = mission_common.mission_stamp(web)
        kept = [key for key in web.cache._data if key.startswith("edge|")]
        for url in urls:
            assert [key for key in kept if f"|{url}?" in key and key.endswith("|" + stamp)], url
        # the edge reads the stamp for each request (the shared read) and answers from the kept copy
        reads: list[str] = []
        real_shared = web.shared

        async def counting_shared(key, read):
            reads.append(key)
            return await real_shared(key, read)

        monkeypatch.setattr(web, "shared", counting_shared)
        monkeypatch.setattr(web, "cached_page", lambda *a, **k: (_ for _ in ()).throw(AssertionError("full path")))
        again = client.get("/nsf")
        assert again.status_code == 200 and again.content == first["/nsf"].content and len(reads) == 1
        # another stamp (something public of the mission changed): the edge has nothing for it, the full path
        # builds the page again
        monkeypatch.setattr(mission_common, "mission_stamp", lambda _web: stamp + "-changed")
        with pytest.raises(AssertionError, match="full path"):
            client.get("/nsf")
        monkeypatch.undo()
        assert client.get("/nsf").status_code == 200


def _switch_to(web, monkeypatch, version: str) -> None:
    monkeypatch.setattr(type(web.snapshots), "published", property(
        lambda self: type("S", (), {"version": version})()), raising=False)


def test_a_new_snapshot_empties_the_edge(fresh_app, monkeypatch):
    web = fresh_app.state.web
    with TestClient(fresh_app) as client:
        client.get("/")
        assert any(key.startswith("edge|") for key in web.cache._data)
        _switch_to(web, monkeypatch, "another")
        web.fresh_cache()
        assert not any(key.startswith("edge|") for key in web.cache._data)


def test_pages_of_a_new_snapshot_built_ahead_of_the_switch_are_served_after_it(fresh_app, monkeypatch):
    """Web.prerender: the most requested anonymous answers are asked again of the whole app with the new
    snapshot as the one read, on the server's event loop, while everyone else still reads the old; after the
    switch they are answered from the cache (the edge) with what the full path gives for the new snapshot."""
    import dataclasses

    web = fresh_app.state.web
    urls = [*PUBLIC, "/nsf", "/api/v1/ratings/watch-list"]
    with TestClient(fresh_app) as client:
        for url in urls:
            assert client.get(url).status_code == 200, url
        assert client.get("/").status_code == 200  # the most requested: built first
        old = web.snapshots.current
        new = dataclasses.replace(old, version=old.version + "-next", memo={})

        web.prerender(new)  # in this thread, as the reload thread calls it (it waits for the event loop)
        assert web.last_prerender["built"] == len(set(urls)) and web.last_prerender["version"] == new.version
        assert web.snapshots.current is old  # nobody was switched
        ahead = [key for key in web.cache._data if f"|{new.version}|" in f"|{key}|"]
        assert [key for key in ahead if key.startswith("edge|") and key.endswith("|/?")]
        # the switch: the old snapshot's entries go, the new one's stay, and every URL is answered at the edge
        monkeypatch.setattr(web.snapshots, "_snapshot", new)
        monkeypatch.setattr(web.snapshots, "_checked_at", float("inf"))
        web.fresh_cache()
        assert not [key for key in web.cache._data if f"|{old.version}|" in f"|{key}|"]
        assert [key for key in web.cache._data if f"|{new.version}|" in f"|{key}|"] == ahead
        plain = [url for url in urls if url not in ("/nsf", "/api/v1/ratings/watch-list")]
        with pytest.MonkeyPatch.context() as refused:
            _full_path_refused(web, refused)
            from_the_edge = {url: client.get(url) for url in plain}
        # what the full path builds for the new snapshot now is what was built ahead of the switch
        web.cache.clear()
        for url in plain:
            again = client.get(url)
            assert from_the_edge[url].status_code == 200 and again.status_code == 200, url
            assert from_the_edge[url].content == again.content, url
        for url in ("/nsf", "/api/v1/ratings/watch-list"):  # these read the mission's stamp: the full path's
            assert client.get(url).status_code == 200


def test_no_prerender_without_a_running_server_or_with_it_switched_off(fresh_app, demo):
    import dataclasses

    from uptake.web.app import create_app
    from uptake.web.settings import WebSettings

    import workspace_builder

    web = fresh_app.state.web
    new = dataclasses.replace(web.snapshots.current, version="next", memo={})
    web.prerender(new)  # no request has been served: no event loop to build on
    assert web.last_prerender["built"] == 0
    app = create_app(demo.workspace, catalogue=demo.built.catalogue, boundaries=workspace_builder.boundaries,
                     secret_key="test-secret-key-" + "x" * 32, settings=WebSettings(prerender_seconds=0))
    with TestClient(app) as client:
        assert client.get("/").status_code == 200
        app.state.web.prerender(new)
        assert app.state.web.last_prerender["built"] == 0
        assert not [key for key in app.state.web.cache._data if "|next|" in f"|{key}|"]


@pytest.mark.parametrize("visitors", [False, True])
def test_the_prerender_paces_itself_only_while_visitors_are_asking(fresh_app, monkeypatch, visitors):
    """After each build the prerender waits as long again when visitors asked something during it (so they
    keep at least half the server), and goes straight on to the next build when nobody did."""
    import dataclasses

    from uptake.web import state

    web = fresh_app.state.web
    urls = ["/", "/innovations/doacs", "/organisations/QMJ"]
    slept: list[float] = []
    real_sleep, real_ask = state.asyncio.sleep, state._ask

    async def sleep(seconds: float, *args) -> None:
        slept.append(seconds)
        await real_sleep(0)

    async def ask(app, request):
        if visitors:
            web.visits += 1  # as the edge counts a visitor's request arriving during the build
        return await real_ask(app, request)

    with TestClient(fresh_app) as client:
        for url in urls:
            assert client.get(url).status_code == 200, url
        monkeypatch.setattr(state.asyncio, "sleep", sleep)
        monkeypatch.setattr(state, "_ask", ask)
        new = dataclasses.replace(web.snapshots.current, version="paced-next", memo={})
        web.prerender(new)
        monkeypatch.undo()
    assert web.last_prerender["built"] == len(urls)
    assert len(slept) == (len(urls) if visitors else 0)


def test_a_prerender_stops_waiting_when_the_server_stops(fresh_app, monkeypatch):
    """A build that never ends on a loop that then stops (the server shut down) does not hold the reload
    thread, and with it the switch, until the budget runs out (here an hour): it returns once the loop stops."""
    import asyncio
    import dataclasses
    import threading

    from uptake.web import state

    web = fresh_app.state.web
    monkeypatch.setattr(web, "settings", web.settings.model_copy(update={"prerender_seconds": 3600}))
    monkeypatch.setitem(web.hot, ("http", "testserver", False, "/", ""), 1)
    started = threading.Event()

    async def ask_forever(app, request):
        started.set()
        await asyncio.Event().wait()

    monkeypatch.setattr(state, "_ask", ask_forever)
    loop = asyncio.new_event_loop()
    serving = threading.Thread(target=loop.run_forever, daemon=True)
    serving.start()
    monkeypatch.setattr(web, "loop", loop)
    new = dataclasses.replace(web.snapshots.current, version="stopped-next", memo={})
    reload_thread = threading.Thread(target=web.prerender, args=(new,), daemon=True)
    reload_thread.start()
    assert started.wait(30)
    loop.call_soon_threadsafe(loop.stop)
    reload_thread.join(60)
    assert not reload_thread.is_alive()
    assert web.last_prerender == {"version": new.version, "built": 0, "asked": 0,
                                  "seconds": web.last_prerender["seconds"]}
    serving.join(5)
    loop.close()


def test_the_cache_has_room_for_both_versions_while_a_prerender_runs(fresh_app, monkeypatch):
    """While a new snapshot's answers are built ahead of the switch, the cache holds them beside the old
    snapshot's (as much again as its limit), so neither evicts the other; the switch drops the old version's
    answers and the room, back to the limit."""
    import dataclasses

    from uptake.web.state import CachedBody, LRUCache

    cache = LRUCache(10_000)
    for n in range(8):
        cache.put(f"old|{n}", CachedBody.of(b"x" * 1000, "text/html", f'"{n}"'))
    cache.make_room(10_000)
    for n in range(8):
        cache.put(f"new|{n}", CachedBody.of(b"y" * 1000, "text/html", f'"n{n}"'))
    assert cache.evictions == 0 and len(cache) == 16
    cache.make_room(0)
    assert cache.size <= 10_000 and cache.evictions == 8 and all(key.startswith("new|") for key in cache._data)

    web = fresh_app.state.web
    seen: list[int] = []
    with TestClient(fresh_app) as client:
        assert client.get("/").status_code == 200
        old = web.snapshots.current
        new = dataclasses.replace(old, version=old.version + "-roomy", memo={})
        real_put = web.cache.put
        monkeypatch.setattr(web.cache, "put", lambda key, value: (seen.append(web.cache.room), real_put(key, value)))
        web.prerender(new)
        assert seen and set(seen) == {web.cache.max_bytes}  # room while it built
        monkeypatch.setattr(web.snapshots, "_snapshot", new)
        monkeypatch.setattr(web.snapshots, "_checked_at", float("inf"))
        web.fresh_cache()
        assert web.cache.room == 0


def test_the_edge_can_be_switched_off(demo, monkeypatch):
    from uptake.web.app import create_app
    from uptake.web.settings import WebSettings

    import workspace_builder

    app = create_app(demo.workspace, catalogue=demo.built.catalogue, boundaries=workspace_builder.boundaries,
                     secret_key="test-secret-key-" + "x" * 32, settings=WebSettings(edge_cache=False))
    with TestClient(app) as client:
        assert client.get("/").status_code == 200
        _full_path_refused(app.state.web, monkeypatch)
        with pytest.raises(AssertionError, match="full path"):
            client.get("/")


def test_a_cycle_frozen_with_the_heap_is_collected_at_the_next_thaw():
    """freeze_heap: frozen objects escape the collector's passes (the point of it), so after each prerender the
    heap is thawed and collected once before freezing again: nothing an old snapshot left in cycles stays."""
    import gc
    import weakref

    from uptake.web.state import freeze_heap

    class Node:
        pass

    node = Node()
    node.me = node  # a cycle: only the collector frees it
    gone = weakref.ref(node)
    try:
        freeze_heap()
        del node
        gc.collect()
        assert gone() is not None  # frozen: not collected
        freeze_heap(collect=True, thaw=True)
        assert gone() is None
    finally:
        gc.unfreeze()
