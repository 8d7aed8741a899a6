from api.windows import key_phase, window_for

WINDOW, MIN_REMAINING = 3600, 3600


def test_every_moment_of_a_window_leaves_at_least_min_remaining():
    start = window_for("k.png", 1_800_000_000, WINDOW, MIN_REMAINING).start
    for offset in range(0, WINDOW, 97):
        now = start + offset
        w = window_for("k.png", now, WINDOW, MIN_REMAINING)
        assert w.start == start
        assert w.expires - now > MIN_REMAINING
        assert w.end == start + WINDOW and w.expires == w.end + MIN_REMAINING


def test_the_next_window_starts_where_the_last_ended():
    w = window_for("k.png", 1_800_000_000, WINDOW, MIN_REMAINING)
    assert window_for("k.png", w.end, WINDOW, MIN_REMAINING).start == w.end
    assert window_for("k.png", w.end - 1, WINDOW, MIN_REMAINING) == w


def test_phases_spread_rollovers_across_the_window():
    phases = {key_phase(f"gallery/{i}.png", WINDOW) // 360 for i in range(500)}
    assert phases == set(range(10))  # every tenth of the window gets rollovers


def test_max_age_never_passes_the_window_end():
    w = window_for("k.png", 1_800_000_000, WINDOW, MIN_REMAINING)
    assert w.max_age(w.end - 10) == 10
    assert w.max_age(w.end + 10) == 0
