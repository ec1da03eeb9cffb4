"""sklearn_vae.save / sklearn_vae.load: plain data and weights, no pickle (issue 11 case 11)."""

import hashlib
import io
import json
import pickle
import zipfile

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

import sklearn_vae
from sklearn_vae import VAEImputer, VAEOutlierDetector, VAETransformer, load, save

FAST = dict(max_iter=3, hidden_layer_sizes=(8,), random_state=0)


def _round_trip(est, **load_kwargs):
    buffer = io.BytesIO()
    save(est, buffer)
    return load(io.BytesIO(buffer.getvalue()), **load_kwargs)


def _same(a, b):
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return True
    if isinstance(a, np.random.RandomState):
        state_a, state_b = a.get_state(), b.get_state()
        return all(_same(x, y) for x, y in zip(state_a, state_b))
    if hasattr(a, "equals"):  # pandas
        return a.equals(b)
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    return a == b


def _assert_identical(est, restored, X):
    assert type(restored) is type(est)
    params, params_back = est.get_params(), restored.get_params()
    assert params.keys() == params_back.keys()
    for k in params:
        assert _same(params[k], params_back[k]), k
    for name in ("n_iter_", "loss_curve_", "validation_scores_", "best_validation_score_",
                 "n_features_in_", "_seed", "offset_"):
        if hasattr(est, name):
            assert _same(getattr(est, name), getattr(restored, name)), name
    for k, v in est.module_.state_dict().items():
        assert torch.equal(v, restored.module_.state_dict()[k]), k
    assert len(restored.net_.history) == len(est.net_.history)
    assert restored.net_.history[-1, "train_loss"] == est.net_.history[-1, "train_loss"]
    assert _same(est.score_samples(X), restored.score_samples(X))
    assert _same(est.score_samples_per_feature(X), restored.score_samples_per_feature(X))
    assert _same(est.sample(7, random_state=1), restored.sample(7, random_state=1))
    if isinstance(est, VAETransformer):
        Z = est.transform(X)
        assert _same(Z, restored.transform(X))
        assert _same(est.inverse_transform(Z), restored.inverse_transform(Z))
    if isinstance(est, VAEImputer):
        assert _same(est.transform(X), restored.transform(X))
        assert _same(est.get_feature_names_out(), restored.get_feature_names_out())
    if isinstance(est, VAEOutlierDetector):
        assert _same(est.decision_function(X), restored.decision_function(X))
        assert _same(est.predict(X), restored.predict(X))


@pytest.fixture(scope="module")
def X_missing():
    X = np.random.default_rng(0).normal(size=(80, 4))
    X[::7, 1] = np.nan
    X[:, 3] = np.nan  # never observed
    return X


@pytest.mark.parametrize("est", [
    VAETransformer(**FAST),
    VAETransformer(scaling="shared", **FAST),
    VAETransformer(early_stopping=False, random_state=np.random.RandomState(3),
                   max_iter=2, hidden_layer_sizes=(8, 4), device=torch.device("cpu")),
    VAEImputer(add_indicator=True, keep_empty_features=True, n_train_samples=2,
               n_importance_samples=5, **FAST),
    VAEImputer(sample_posterior=True, n_train_samples=2, n_importance_samples=5, **FAST),
    VAEOutlierDetector(contamination=0.1, anomaly_score="elbo", **FAST),
    VAEOutlierDetector(**FAST),
], ids=lambda est: type(est).__name__)
def test_save_load_round_trips_bit_identically(est, X_missing):
    X = X_missing if isinstance(est, VAEImputer) else np.nan_to_num(X_missing)
    est.fit(X)
    _assert_identical(est, _round_trip(est), X)


@pytest.mark.parametrize("Estimator", [VAETransformer, VAEImputer, VAEOutlierDetector])
def test_save_load_mixed_dataframe(Estimator, tmp_path):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    df = pd.DataFrame({
        "amount": rng.lognormal(size=60) * 100,
        "count": pd.array(rng.integers(0, 5, 60), dtype="Int64"),
        "flag": rng.random(60) < 0.3,
        "color": pd.Categorical(rng.choice(["red", "green", "blue"], 60)),
        "city": rng.choice(["Oslo", "Rome", "Paris"], 60),
        "x": rng.normal(size=60),
    })
    df.loc[[0, 3], "amount"] = np.nan
    df.loc[[1, 2], "color"] = np.nan
    est = Estimator(**FAST, **({"n_train_samples": 2, "n_importance_samples": 5}
                               if Estimator is VAEImputer else {})).fit(df)
    path = tmp_path / "model.vae"
    save(est, path)
    restored = load(path)
    _assert_identical(est, restored, df)
    assert list(restored.schema_.columns_) == list(df.columns)
    assert restored.schema_.dtypes_ == est.schema_.dtypes_
    specs = restored.schema_.specs_  # the layout order refers to the same columns
    assert all(any(o is s for s in specs) for o in restored.schema_._ordered)


def test_save_load_warm_start_continues_identically():
    X = np.random.default_rng(0).normal(size=(100, 3))
    a = VAETransformer(warm_start=True, early_stopping=False, **FAST).fit(X)
    b = _round_trip(a)
    a.fit(X)
    b.fit(X)
    assert a.loss_curve_ == b.loss_curve_ and a.n_iter_ == b.n_iter_ == 6
    np.testing.assert_array_equal(a.transform(X), b.transform(X))


def test_save_refuses_unfitted_and_foreign_objects():
    with pytest.raises(NotFittedError):
        save(VAETransformer(), io.BytesIO())

    class MyVAE(VAETransformer):
        pass

    X = np.random.default_rng(0).normal(size=(20, 2))
    with pytest.raises(TypeError, match="save supports VAETransformer"):
        save(MyVAE(**FAST).fit(X), io.BytesIO())


def test_save_refuses_unsupported_attribute_types():
    X = np.random.default_rng(0).normal(size=(20, 2))
    vae = VAETransformer(**FAST).fit(X)
    vae.extra_ = object()
    with pytest.raises(TypeError, match=r"extra_.*cannot save.*object"):
        save(vae, io.BytesIO())


# -- refusing bad files ----------------------------------------------------------

@pytest.fixture(scope="module")
def saved():
    X = np.random.default_rng(0).normal(size=(30, 3))
    vae = VAETransformer(**FAST).fit(X)
    buffer = io.BytesIO()
    save(vae, buffer)
    return buffer.getvalue()


def _members(data):
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _rewrite(data, fix_checksums=True, **replace):
    members = {**_members(data), **replace}
    manifest = json.loads(members["manifest.json"])
    if fix_checksums:
        manifest["sha256"] = {k: hashlib.sha256(v).hexdigest() for k, v in members.items()
                              if k != "manifest.json"}
    members["manifest.json"] = json.dumps(manifest).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, value in members.items():
            archive.writestr(name, value)
    return out.getvalue()


def _edit_manifest(data, **changes):
    manifest = json.loads(_members(data)["manifest.json"])
    manifest.update(changes)
    return _rewrite(data, fix_checksums=False, **{"manifest.json": json.dumps(manifest)})


def test_load_refuses_a_tampered_file(saved):
    text = _members(saved)["estimator.json"].decode()
    edited = text.replace('"n_components": 2', '"n_components": 3')
    assert edited != text
    with pytest.raises(ValueError, match="modified or is corrupted.*estimator.json"):
        load(io.BytesIO(_rewrite(saved, fix_checksums=False,
                                 **{"estimator.json": edited.encode()})))
    weights = bytearray(_members(saved)["tensors.pt"])
    weights[-100] ^= 0xFF
    with pytest.raises(ValueError, match="modified or is corrupted.*tensors.pt"):
        load(io.BytesIO(_rewrite(saved, fix_checksums=False, **{"tensors.pt": bytes(weights)})))


class _Exploit:
    def __reduce__(self):
        return (print, ("pwned",))


def test_load_never_runs_code_even_with_valid_checksums(saved, capsys):
    # A pickle payload in place of the weights, checksums recomputed.
    buffer = io.BytesIO()
    torch.save({"module": _Exploit()}, buffer)
    with pytest.raises(ValueError, match="tensors.pt holds more than tensors"):
        load(io.BytesIO(_rewrite(saved, **{"tensors.pt": buffer.getvalue()})))
    # A plain pickle anywhere else is not JSON.
    with pytest.raises(ValueError, match="estimator.json cannot be read"):
        load(io.BytesIO(_rewrite(saved, **{"estimator.json": pickle.dumps(_Exploit())})))
    # An object of a class outside the allowed list.
    text = _members(saved)["estimator.json"].decode()
    evil = text.replace('"__object__": "TabularSchema"', '"__object__": "Popen"')
    with pytest.raises(ValueError, match="unknown object type 'Popen'"):
        load(io.BytesIO(_rewrite(saved, **{"estimator.json": evil.encode()})))
    assert "pwned" not in capsys.readouterr().out


def test_load_refuses_other_versions(saved, monkeypatch):
    with pytest.raises(ValueError, match="format version 2.*reads version 1"):
        load(io.BytesIO(_edit_manifest(saved, format_version=2)))
    monkeypatch.setattr(sklearn_vae, "__version__", "9.9.9")
    with pytest.raises(ValueError, match=r"written by sklearn-vae 0\.1\.0, this is 9\.9\.9.*"
                                         "allow_version_mismatch=True"):
        load(io.BytesIO(saved))
    assert load(io.BytesIO(saved), allow_version_mismatch=True).n_components == 2


def test_load_refuses_files_that_are_not_models(saved, tmp_path):
    with pytest.raises(ValueError, match="not a zip archive"):
        load(io.BytesIO(b"definitely not a model"))
    with pytest.raises(ValueError, match="not a zip archive"):
        load(io.BytesIO(saved[: len(saved) // 2]))
    path = tmp_path / "pickled.joblib"
    path.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(ValueError, match="Not an sklearn-vae file"):
        load(path)
    with pytest.raises(ValueError, match="Not an sklearn-vae file: expected the members"):
        load(io.BytesIO(_rewrite(saved, **{"extra.py": b"print(1)"})))


def test_load_device(saved):
    vae = load(io.BytesIO(saved), device="cpu")
    assert next(vae.module_.parameters()).device.type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            load(io.BytesIO(saved), device="cuda")
        # A model trained on a GPU loads on the CPU here, with a warning.
        text = _members(saved)["estimator.json"].decode()
        on_gpu = text.replace('"device": "cpu"', '"device": "cuda:0"')
        assert on_gpu != text
        with pytest.warns(UserWarning, match="CUDA is not available"):
            restored = load(io.BytesIO(_rewrite(saved, **{"estimator.json": on_gpu.encode()})))
        assert restored.net_.device == torch.device("cpu")
        assert restored.get_params()["device"] == "auto"  # trains wherever it is
        # Saved with device="cuda:0" (both the parameter and the net): the
        # parameter follows the CPU it was loaded on, so it trains on here (it
        # kept "cuda:0" and partial_fit refused: "CUDA is not available").
        X = np.random.default_rng(0).normal(size=(30, 3))
        buffer = io.BytesIO()
        save(VAETransformer(**{**FAST, "device": "cpu"}).fit(X), buffer)
        text = _members(buffer.getvalue())["estimator.json"].decode()
        assert text.count('"device": "cpu"') == 2
        on_gpu = _rewrite(buffer.getvalue(), **{"estimator.json": text.replace(
            '"device": "cpu"', '"device": "cuda:0"').encode()})
        with pytest.warns(UserWarning, match="device parameter set to 'cpu'"):
            restored = load(io.BytesIO(on_gpu))
        assert restored.get_params()["device"] == "cpu"
        restored.partial_fit(X)
        assert load(io.BytesIO(on_gpu), device="cpu").get_params()["device"] == "cpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_save_on_gpu_load_on_cpu_bit_identical_weights():
    X = np.random.default_rng(0).normal(size=(60, 3))
    vae = VAETransformer(device="cuda", **FAST).fit(X)
    restored = _round_trip(vae, device="cpu")
    for k, v in vae.module_.state_dict().items():
        assert torch.equal(v.cpu(), restored.module_.state_dict()[k])
    back = _round_trip(restored, device="cuda")
    np.testing.assert_array_equal(back.transform(X), vae.transform(X))


def test_load_a_file_saved_before_newer_parameters(saved):
    """A model saved before ``prior`` and ``calibrate_categories`` existed loads
    with the values that describe it (N(0, I), no calibration): get_params and
    clone work, and it samples as before."""
    payload = json.loads(_members(saved)["estimator.json"])
    for name in ("prior", "calibrate_categories", "latent_prior_", "_category_offsets"):
        payload["params"].pop(name)
    old = load(io.BytesIO(_rewrite(saved, **{"estimator.json": json.dumps(payload).encode()})))
    params = old.get_params()
    assert params["prior"] == "normal" and params["calibrate_categories"] is False
    assert params["n_components"] == load(io.BytesIO(saved)).n_components
    assert clone(old).get_params() == params
    np.testing.assert_array_equal(old.sample(5, random_state=0),
                                  load(io.BytesIO(saved)).sample(5, random_state=0))


def test_load_refuses_a_file_whose_parts_disagree(saved):
    """Edited, re-checksummed files fail at load with ValueError naming what is
    wrong (they loaded and failed later with AttributeError, or gave a model whose
    fitted attributes contradicted its weights)."""
    payload = json.loads(_members(saved)["estimator.json"])

    def edited(**params):
        changed = {**payload, "params": {**payload["params"], **params}}
        return io.BytesIO(_rewrite(saved, **{"estimator.json": json.dumps(changed).encode()}))

    with pytest.raises(ValueError, match=r"kl_per_component_ has shape \(3,\) but the "
                                         r"weights have 2 latent dimensions"):
        load(edited(kl_per_component_={"__ndarray__": "<f8", "shape": [3],
                                        "data": [0.1, 0.2, 0.3]}))
    # The n_components parameter is the next fit's (set after fit, as PCA's):
    # the loaded model keeps the 2 dimensions of its weights.
    loaded = load(edited(n_components=3))
    assert loaded.n_components == 3 and loaded.n_components_ == 2
    without_schema = {k: v for k, v in payload["params"].items() if k != "schema_"}
    broken = {**payload, "params": without_schema}
    with pytest.raises(ValueError, match=r"lacks the fitted attributes \['schema_'\]"):
        load(io.BytesIO(_rewrite(saved, **{"estimator.json": json.dumps(broken).encode()})))
    listed = {**payload, "params": [1, 2]}
    with pytest.raises(ValueError, match="params are not a mapping"):
        load(io.BytesIO(_rewrite(saved, **{"estimator.json": json.dumps(listed).encode()})))
