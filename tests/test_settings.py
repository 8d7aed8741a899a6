from pathlib import Path

import pytest

from api.settings import Settings, SettingsError, documented_settings


def test_defaults_without_environment():
    settings = Settings.from_env({})
    assert settings.port == 8080
    assert settings.storage_backend == "local"
    assert settings.redis_url is None
    assert settings.images_dir == Path(".data") / "images"


def test_values_are_parsed_from_environment():
    settings = Settings.from_env(
        {"PORT": "9000", "ALLOWED_KEY_PREFIXES": "gallery/, demo/", "CORS_ORIGINS": "*", "LOG_LEVEL": "DEBUG"}
    )
    assert settings.port == 9000
    assert settings.allowed_key_prefixes == ("gallery/", "demo/")
    assert settings.cors_origins == ("*",)
    assert settings.log_level == "debug"


@pytest.mark.parametrize(
    "env, variable",
    [
        ({"PORT": "eighty"}, "PORT"),
        ({"URL_WINDOW_SECONDS": "5"}, "URL_WINDOW_SECONDS"),
        ({"STORAGE_BACKEND": "s3"}, "STORAGE_BACKEND"),
        ({"STORAGE_BACKEND": "cos"}, "COS_SECRET_ID"),
        ({"ALLOWED_KEY_PREFIXES": "/abs"}, "ALLOWED_KEY_PREFIXES"),
        ({"PUBLIC_BASE_URL": "cdn.example.com"}, "PUBLIC_BASE_URL"),
        ({"ACCESS_FLUSH_SECONDS": "soon"}, "ACCESS_FLUSH_SECONDS"),
    ],
)
def test_a_wrong_value_names_its_variable(env, variable):
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env(env)


def test_generated_secrets_are_shared_and_stable(tmp_path):
    first = Settings.from_env({"DATA_DIR": str(tmp_path)})
    second = Settings.from_env({"DATA_DIR": str(tmp_path)})
    assert first.effective_admin_token == second.effective_admin_token
    assert len(first.effective_admin_token) >= 32
    assert first.signing_secret != first.effective_admin_token
    assert (tmp_path / "admin-token.secret").stat().st_mode & 0o077 == 0


def test_every_setting_is_documented_in_the_readme():
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    missing = [name for name, _, _ in documented_settings() if f"`{name}`" not in readme]
    assert missing == []


def test_short_windows_are_allowed_for_expiry_scenarios():
    settings = Settings.from_env({"URL_WINDOW_SECONDS": "20", "URL_MIN_REMAINING_SECONDS": "20"})
    assert (settings.url_window_seconds, settings.url_min_remaining_seconds) == (20, 20)
