"""The build caches stay bounded: least recently used builds go, recent and in-use ones stay; generated Verilog
is made once per description."""
import os

from sim import run as simrun


def _fake_builds(root, n, now):
    dirs = []
    for i in range(n):
        d = root / f"m_{i:04d}"
        d.mkdir(parents=True)
        (d / "exe").write_bytes(b"x")
        stamp = d / "built.stamp"
        stamp.write_text("k")
        used = now - 10 * 3600 - i * 60            # build i last used i minutes before the newest old one
        os.utime(stamp, (used, used))
        (root / f"{d.name}.lock").write_text("")
        dirs.append(d)
    return dirs


def test_eviction_keeps_the_most_recent_and_drops_the_rest(tmp_path):
    now = 1.0e9
    dirs = _fake_builds(tmp_path, simrun.CACHE_KEEP + 7, now)
    gone = simrun._evict(tmp_path, keep=dirs[0], now=now)
    assert sorted(gone) == sorted(dirs[simrun.CACHE_KEEP:])
    assert all(d.exists() for d in dirs[:simrun.CACHE_KEEP])
    assert not any(d.exists() or (tmp_path / f"{d.name}.lock").exists() for d in gone)


def test_eviction_spares_recently_used_and_the_current_build(tmp_path):
    now = 1.0e9
    dirs = _fake_builds(tmp_path, simrun.CACHE_KEEP + 3, now)
    recent, current = dirs[-1], dirs[-2]
    os.utime(recent / "built.stamp", (now - 60, now - 60))     # used a minute ago: becomes the newest, kept
    gone = simrun._evict(tmp_path, keep=current, now=now)
    assert recent.exists() and current.exists()
    # the newest CACHE_KEEP are `recent` plus dirs[0..KEEP-2]; of the rest only `current` is spared
    assert sorted(gone) == sorted(set(dirs[simrun.CACHE_KEEP - 1:]) - {recent, current})


def test_generated_verilog_is_made_once_per_description(tmp_path, monkeypatch):
    from rtl_gen import emit
    monkeypatch.setenv("TRIPS_CACHE", str(tmp_path))
    made = []

    def make(text):
        return lambda: made.append(text) or text
    assert emit.disk_cached({"top": 1}, make("a")) == "a"
    assert emit.disk_cached({"top": 1}, make("b")) == "a"          # a hit: not made again
    assert emit.disk_cached({"top": 2}, make("c")) == "c"          # another description: made
    assert made == ["a", "c"]
    for i in range(emit.CACHE_FILES + 5):                         # the newest CACHE_FILES stay
        emit.disk_cached({"n": i}, make(str(i)))
    assert len(list((tmp_path / "verilog").glob("*.v"))) == emit.CACHE_FILES
    assert emit.disk_cached({"n": emit.CACHE_FILES + 4}, make("x")) == str(emit.CACHE_FILES + 4)
