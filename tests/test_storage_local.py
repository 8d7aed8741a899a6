import pytest

from api.storage.local import LocalStorage, SignatureExpired, SignatureInvalid

from .storage_contract import StorageContract


@pytest.fixture
def make_storage(tmp_path):
    def make(objects):
        for key, data in objects.items():
            path = tmp_path / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        return LocalStorage(tmp_path, secret="test-secret", retries=0)

    return make


class TestLocalStorage(StorageContract):
    def test_verify_accepts_own_signature(self, storage):
        url = storage.sign("gallery/a.png", 100, 200)
        exp, sig = url.split("?exp=")[1].split("&sig=")
        assert storage.verify_url("gallery/a.png", exp, sig, now=150) is None  # raises when rejected

    def test_verify_rejects_tampering_and_expiry(self, storage):
        url = storage.sign("gallery/a.png", 100, 200)
        exp, sig = url.split("?exp=")[1].split("&sig=")
        with pytest.raises(SignatureInvalid):
            storage.verify_url("gallery/b.jpg", exp, sig, now=150)
        with pytest.raises(SignatureInvalid):
            storage.verify_url("gallery/a.png", "300", sig, now=150)
        with pytest.raises(SignatureInvalid):
            storage.verify_url("gallery/a.png", exp, None, now=150)
        with pytest.raises(SignatureExpired):
            storage.verify_url("gallery/a.png", exp, sig, now=200)

    def test_symlink_out_of_root_is_refused(self, storage, tmp_path_factory):
        outside = tmp_path_factory.mktemp("outside") / "secret.png"
        outside.write_bytes(b"secret")
        (storage.root / "link.png").symlink_to(outside)
        with pytest.raises(Exception) as caught:
            storage.head("link.png")
        assert getattr(caught.value, "status", None) == 403
