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
