import pytest

from api.keys import MAX_KEY_BYTES, InvalidKey, validate_key

BAD_KEYS = {
    "empty": ("", "empty_key"),
    "traversal": ("gallery/../secret.png", "path_traversal"),
    "dot segment": ("gallery/./a.png", "path_traversal"),
    "encoded traversal": ("gallery/%2e%2e/secret.png", "path_traversal"),
    "double encoded traversal": ("gallery/%252e%252e/secret.png", "path_traversal"),
    "encoded slash traversal": ("..%2fsecret.png", "path_traversal"),
    "backslash traversal": ("gallery\\..\\secret.png", "path_traversal"),
    "leading slash": ("/etc/passwd", "absolute_key"),
    "encoded leading slash": ("%2fetc/passwd", "absolute_key"),
    "control character": ("gallery/a\x00.png", "control_character"),
    "encoded control character": ("gallery/a%0a.png", "control_character"),
    "too long": ("a" * (MAX_KEY_BYTES + 1), "key_too_long"),
    "too long in bytes": ("图" * 300, "key_too_long"),
    "lone surrogate": ("a\udcff.png", "invalid_encoding"),
    "not a string": (42, "invalid_key"),
}


@pytest.mark.parametrize("key, code", BAD_KEYS.values(), ids=BAD_KEYS.keys())
def test_bad_keys_are_rejected_with_a_reason(key, code):
    with pytest.raises(InvalidKey) as caught:
        validate_key(key)
    assert caught.value.code == code


@pytest.mark.parametrize(
    "key", ["gallery/a.png", "空 间/图片 (1).png", "a..b/c.png", "x" * MAX_KEY_BYTES, "dir/.hidden-not-dot-segment"]
)
def test_good_keys_pass_unchanged(key):
    assert validate_key(key) == key


def test_prefix_allow_list():
    assert validate_key("gallery/a.png", ("gallery/",)) == "gallery/a.png"
    with pytest.raises(InvalidKey) as caught:
        validate_key("private/a.png", ("gallery/", "demo/"))
    assert caught.value.code == "prefix_not_allowed"
