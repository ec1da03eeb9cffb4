import io

import pytest

from sklearn_vae._cli import main


def test_cli_demo_prints_table_and_writes_png(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    png = tmp_path / "latent.png"
    assert main(["demo", "--max-iter", "2", "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "| PCA |" in out and "| VAETransformer |" in out
    assert "test log-lik" in out
    assert png.exists() and png.stat().st_size > 1000


def test_cli_requires_a_command():
    with pytest.raises(SystemExit):
        main([])


@pytest.fixture
def table_csv(tmp_path):
    import numpy as np
    import pandas as pd

    rng = np.random.RandomState(0)
    n = 120
    df = pd.DataFrame({"age": rng.randint(18, 90, n).astype(float),
                       "hours": rng.normal(40, 10, n),
                       "city": rng.choice(["Paris", "Lyon", "Nice"], n)})
    df.loc[rng.uniform(size=n) < 0.1, "hours"] = np.nan
    path = tmp_path / "table.csv"
    df.to_csv(path, index=False)
    return path, df


def test_cli_impute_fills_only_the_missing_entries(table_csv, tmp_path):
    import numpy as np
    import pandas as pd

    path, df = table_csv
    out = tmp_path / "filled.csv"
    assert main(["impute", str(path), "--max-iter", "3", "-o", str(out)]) == 0
    filled = pd.read_csv(out)
    assert list(filled.columns) == ["age", "hours", "city"]
    assert not filled.isna().any().any()
    observed = df["hours"].notna()
    np.testing.assert_allclose(filled.loc[observed, "hours"], df.loc[observed, "hours"])
    assert set(filled["city"]) <= {"Paris", "Lyon", "Nice"}


def test_cli_outliers_save_then_apply_the_saved_model(table_csv, tmp_path, capsys):
    import numpy as np
    import pandas as pd

    path, df = table_csv
    model = tmp_path / "det.vae"
    assert main(["outliers", str(path), "--max-iter", "3", "--contamination", "0.1",
                 "--save", str(model)]) == 0
    first = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert list(first.columns) == ["age", "hours", "city", "anomaly_score", "is_outlier"]
    assert len(first) == len(df) and 0 < first["is_outlier"].mean() <= 0.2
    assert main(["outliers", str(path), "--model", str(model)]) == 0
    second = pd.read_csv(io.StringIO(capsys.readouterr().out))
    np.testing.assert_allclose(second["anomaly_score"], first["anomaly_score"])


def test_cli_reduce_writes_the_codes(table_csv, tmp_path):
    import pandas as pd

    path, df = table_csv
    out = tmp_path / "codes.csv"
    assert main(["reduce", str(path), "--n-components", "3", "--max-iter", "3",
                 "-o", str(out)]) == 0
    codes = pd.read_csv(out)
    assert list(codes.columns) == ["vae0", "vae1", "vae2"] and len(codes) == len(df)


def test_cli_clear_errors(table_csv, tmp_path):
    path, _ = table_csv
    with pytest.raises(SystemExit, match="no such file"):
        main(["reduce", str(tmp_path / "missing.csv")])
    model = tmp_path / "det.vae"
    main(["outliers", str(path), "--max-iter", "2", "--save", str(model), "-o",
          str(tmp_path / "o.csv")])
    with pytest.raises(SystemExit, match="holds a VAEOutlierDetector; 'reduce' needs"):
        main(["reduce", str(path), "--model", str(model)])


def test_cli_fit_then_transform_score_sample_with_a_model_file(table_csv, tmp_path, capsys):
    import numpy as np
    import pandas as pd

    from sklearn_vae import load

    path, df = table_csv
    model = tmp_path / "vae.model"
    assert main(["fit", str(path), "--n-components", "2", "--max-iter", "3",
                 "-o", str(model)]) == 0
    vae = load(model)
    assert type(vae).__name__ == "VAETransformer" and vae.n_components == 2

    codes = tmp_path / "codes.csv"
    assert main(["transform", str(path), "--model", str(model), "-o", str(codes)]) == 0
    np.testing.assert_allclose(pd.read_csv(codes).to_numpy(),
                               vae.transform(pd.read_csv(path)), rtol=1e-6, atol=1e-9)

    assert main(["score", str(path), "--model", str(model)]) == 0
    captured = capsys.readouterr()
    scored = pd.read_csv(io.StringIO(captured.out))
    assert list(scored.columns) == ["age", "hours", "city", "log_likelihood"]
    np.testing.assert_allclose(scored["log_likelihood"],
                               vae.score_samples(pd.read_csv(path)), rtol=1e-6)
    assert "mean log-likelihood" in captured.err and "nats per row" in captured.err

    assert main(["sample", "--model", str(model), "-n", "7", "--given", "city=Nice",
                 "--given", "age=30"]) == 0
    rows = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert rows.shape == (7, 3) and (rows["city"] == "Nice").all() and (rows["age"] == 30).all()

    assert main(["sample", "--model", str(model), "-n", "5", "--random-state", "3",
                 "--posterior-of", str(path)]) == 0
    rows = pd.read_csv(io.StringIO(capsys.readouterr().out))
    expected = vae.sample(5, random_state=3, posterior_of=pd.read_csv(path))
    assert list(rows.columns) == ["age", "hours", "city"]
    assert (rows["city"] == expected["city"]).all()
    np.testing.assert_allclose(rows["hours"], expected["hours"], rtol=1e-6)

    assert main(["sample", "--model", str(model), "-n", "5", "--random-state", "3",
                 "--posterior-of", str(path), "--bandwidth", "0"]) == 0
    rows = pd.read_csv(io.StringIO(capsys.readouterr().out))
    expected = vae.sample(5, random_state=3, posterior_of=pd.read_csv(path), bandwidth=0.0)
    np.testing.assert_allclose(rows["hours"], expected["hours"], rtol=1e-6)
    for argv, message in ((["--bandwidth", "0.5"], "pass --posterior-of TABLE"),
                          (["--posterior-of", str(path), "--bandwidth", "wide"],
                           "--bandwidth must be 'auto' or a number >= 0, got 'wide'")):
        with pytest.raises(SystemExit, match=message):
            main(["sample", "--model", str(model), *argv])


def test_cli_parquet_in_and_out(table_csv, tmp_path):
    import pandas as pd

    pytest.importorskip("pyarrow")
    path, df = table_csv
    parquet = tmp_path / "table.parquet"
    df.to_parquet(parquet, index=False)
    model = tmp_path / "det.model"
    assert main(["fit", str(parquet), "--estimator", "detector", "--max-iter", "2",
                 "-o", str(model)]) == 0
    out = tmp_path / "flags.parquet"
    assert main(["detect", str(parquet), "--model", str(model), "-o", str(out)]) == 0
    flags = pd.read_parquet(out)
    assert list(flags.columns) == ["age", "hours", "city", "anomaly_score", "is_outlier"]
    assert flags["is_outlier"].dtype == bool and len(flags) == len(df)
    filled = tmp_path / "filled.parquet"
    assert main(["impute", str(parquet), "--max-iter", "2", "-o", str(filled)]) == 0
    assert not pd.read_parquet(filled).isna().any().any()


def test_cli_errors_name_the_problem_and_exit_1(table_csv, tmp_path):
    path, _ = table_csv
    model = tmp_path / "vae.model"
    main(["fit", str(path), "--max-iter", "2", "-o", str(model)])
    cases = [
        (["score", str(path), "--model", str(tmp_path / "none.model")], "no such model file"),
        (["sample", "--model", str(model), "--given", "city=Rome"],
         "'Rome' is not a category of 'city'"),
        (["sample", "--model", str(model), "--given", "town=Nice"], "no column 'town'"),
        (["sample", "--model", str(model), "--given", "age"], "COLUMN=VALUE"),
        (["sample", "--model", str(model), "--given", "age=old"], "'age' is numeric"),
    ]
    junk = tmp_path / "junk.model"
    junk.write_text("not a model")
    cases.append((["score", str(path), "--model", str(junk)], "not a model saved by"))
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    cases.append((["transform", str(other), "--model", str(model)], "feature names"))
    det = tmp_path / "det.model"
    main(["fit", str(path), "--estimator", "detector", "--max-iter", "2", "-o", str(det)])
    cases.append((["transform", str(path), "--model", str(det)],
                  "holds a VAEOutlierDetector; 'transform' needs a VAETransformer"))
    for argv, message in cases:
        with pytest.raises(SystemExit, match=message) as exc:
            main(argv)
        assert str(exc.value).startswith("sklearn-vae: ")  # exit status 1, one line
    with pytest.raises(SystemExit) as exc:  # bad options: argparse, exit status 2
        main(["sample"])
    assert exc.value.code == 2


def test_cli_options_reach_the_estimator_or_are_refused(table_csv, tmp_path, capsys):
    """--n-components reaches an imputer or a detector too (it was dropped); a bad
    --contamination is an argparse error naming it (exit 2), and --contamination
    for a model without a threshold is refused (it was ignored)."""
    from sklearn_vae import load

    path, _ = table_csv
    model = tmp_path / "imp.skvae"
    assert main(["fit", str(path), "--estimator", "imputer", "--n-components", "3",
                 "--max-iter", "2", "-o", str(model)]) == 0
    assert load(model).n_components == 3
    assert main(["fit", str(path), "--max-iter", "2", "-o", str(model)]) == 0
    assert load(model).n_components == 2  # the CLI's default for a transformer
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(["outliers", str(path), "--contamination", "abc"])
    assert exc.value.code == 2
    assert "argument --contamination: expected 'auto' or a share" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["fit", str(path), "--contamination", "0.1", "-o", str(model)])
    assert exc.value.code == 2
    assert "a transformer has none" in capsys.readouterr().err


def test_cli_stops_quietly_when_the_reader_closes_the_pipe(tmp_path):
    """`sklearn-vae reduce t.csv | head -1`: no BrokenPipeError traceback (the
    codes of 20,000 rows overflow the pipe's buffer)."""
    import os
    import subprocess
    import sys

    import numpy as np

    path = tmp_path / "big.csv"
    np.savetxt(path, np.random.RandomState(0).normal(size=(20_000, 3)), delimiter=",",
               header="a,b,c", comments="")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(
        f"{sys.executable} -m sklearn_vae reduce {path} --max-iter 2 | head -1",
        shell=True, capture_output=True, text=True, env=env, check=False)
    assert proc.stdout.startswith("vae0,vae1")
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr


def test_cli_refuses_fitting_options_with_a_saved_model(table_csv, tmp_path, capsys):
    """With --model the saved model is applied as it is: --contamination,
    --n-components, --max-iter, --categorical and --save are refused (exit 2), not
    silently ignored."""
    path, _ = table_csv
    det = tmp_path / "det.model"
    assert main(["outliers", str(path), "--max-iter", "2", "--save", str(det),
                 "-o", str(tmp_path / "o.csv")]) == 0
    capsys.readouterr()
    for extra in (["--contamination", "0.3"], ["--n-components", "5"],
                  ["--max-iter", "1", "--save", str(tmp_path / "x.model")]):
        with pytest.raises(SystemExit) as exc:
            main(["detect", str(path), "--model", str(det), *extra])
        assert exc.value.code == 2
        assert "with --model the saved model is applied as it is" in capsys.readouterr().err
    assert not (tmp_path / "x.model").exists()


def test_cli_unwritable_outputs_fail_before_fitting_in_one_line(table_csv, tmp_path):
    path, _ = table_csv
    model = tmp_path / "vae.model"
    main(["fit", str(path), "--max-iter", "2", "-o", str(model)])
    cases = [(["reduce", str(path), "-o", str(tmp_path / "no" / "c.csv")],
              "cannot write the output to .*no such directory"),
             (["fit", str(path), "-o", str(tmp_path / "no" / "m.model")],
              "cannot write the model to"),
             (["sample", "--model", str(model), "-o", str(tmp_path)],
              "could not write .*: Is a directory"),
             (["score", str(path), "--model", str(model), "-o", str(tmp_path / "no" / "s.csv")],
              "could not write")]
    for argv, message in cases:
        with pytest.raises(SystemExit, match=message) as exc:
            main(argv)
        assert str(exc.value).startswith("sklearn-vae: ") and "\n" not in str(exc.value)


def test_cli_keeps_integer_columns_with_empty_cells_integer(tmp_path, capsys):
    """A CSV column of integers with empty cells is read as integers (pandas' default
    reads it as float, and imputed and sampled values came back as fractions); an
    unseen level's error names a fix the command line has."""
    import numpy as np
    import pandas as pd

    rng = np.random.RandomState(0)
    df = pd.DataFrame({"age": pd.array(rng.randint(18, 90, 150), dtype="Int64"),
                       "hours": rng.normal(40, 10, 150),
                       "city": rng.choice(["Paris", "Lyon"], 150)})
    df.loc[rng.uniform(size=150) < 0.15, "age"] = pd.NA
    path = tmp_path / "t.csv"
    df.to_csv(path, index=False)
    out = tmp_path / "filled.csv"
    assert main(["impute", str(path), "--max-iter", "3", "-o", str(out)]) == 0
    filled = pd.read_csv(out)
    assert filled["age"].dtype.kind == "i" and not filled["age"].isna().any()
    model = tmp_path / "m.model"
    assert main(["fit", str(path), "--max-iter", "3", "-o", str(model)]) == 0
    sampled = tmp_path / "s.csv"
    assert main(["sample", "--model", str(model), "-n", "20", "-o", str(sampled)]) == 0
    assert pd.read_csv(sampled)["age"].dtype.kind == "i"
    berlin = tmp_path / "b.csv"
    berlin.write_text("age,hours,city\n30,40.0,Berlin\n")
    with pytest.raises(SystemExit, match="Drop those rows, or fit the model on a table"):
        main(["score", str(berlin), "--model", str(model)])
