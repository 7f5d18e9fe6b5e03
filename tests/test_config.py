import pytest

from rnnbook import config, data


def test_unset_or_empty_variable_selects_full(monkeypatch):
    monkeypatch.delenv(config.PROFILE_VARIABLE, raising=False)
    assert config.get_profile().name == "full"
    monkeypatch.setenv(config.PROFILE_VARIABLE, "  ")
    assert config.get_profile().name == "full"


def test_variable_selects_smoke(monkeypatch):
    monkeypatch.setenv(config.PROFILE_VARIABLE, "smoke")
    profile = config.get_profile()
    assert profile.name == "smoke"
    assert str(profile) == "profile: smoke"


def test_unknown_profile_is_a_clear_error(monkeypatch):
    monkeypatch.setenv(config.PROFILE_VARIABLE, "bogus")
    with pytest.raises(
        ValueError, match=r"Unknown profile 'bogus'.*Valid profiles: full, smoke"
    ):
        config.get_profile()


def test_full_profile_is_the_split_of_the_original_programs():
    sizes = config.get_profile("full").data
    assert (sizes.num_validation, sizes.num_train, sizes.num_test) == (
        5_000,
        55_000,
        10_000,
    )


@pytest.mark.parametrize("name", sorted(config.PROFILES))
def test_sizes_fit_the_split(name):
    sizes = config.get_profile(name).data
    assert 0 < sizes.num_validation <= data.NUM_HELD_OUT
    assert 0 < sizes.num_train <= 60_000 - data.NUM_HELD_OUT
    assert 0 < sizes.num_test <= 10_000


def test_smoke_runs_every_chapter_with_the_same_settings_for_one_epoch():
    full, smoke = config.get_profile("full"), config.get_profile("smoke")
    assert smoke.chapters.keys() == full.chapters.keys()
    for name, settings in full.chapters.items():
        for key, value in settings.items():
            expected = config.SMOKE_OVERRIDES.get(name, {}).get(key, value)
            expected = config.SMOKE_EPOCHS if key == "epochs" else expected
            assert smoke.chapters[name][key] == expected, (name, key)


def test_smoke_overrides_only_shrink_known_settings():
    full = config.get_profile("full")
    for name, overrides in config.SMOKE_OVERRIDES.items():
        assert overrides.keys() <= full.chapters[name].keys(), name
        for key, value in overrides.items():
            assert config.get_profile("smoke").chapters[name][key] == value, (name, key)


def test_unknown_chapter_is_a_clear_error():
    with pytest.raises(KeyError, match="No settings for chapter '99_nothing'"):
        config.get_profile("full").chapter("99_nothing")
