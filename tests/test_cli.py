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
