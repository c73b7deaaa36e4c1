import math

from respicast.utils.run_files import print_metrics_table


def test_table_flags_only_metrics_marked_unreliable(capsys):
    print_metrics_table(
        {"test/auroc_h1": 0.7, "test/n_pos_h1": 30, "test/auroc_h1_unreliable": math.nan}
    )
    out = capsys.readouterr().out
    assert "0.700" in out and "0.700*" not in out and "unreliable" not in out
    print_metrics_table({"test/auroc_h1": 0.7, "test/n_pos_h1": 3, "test/auroc_h1_unreliable": 1.0})
    out = capsys.readouterr().out
    assert "0.700*" in out and "unreliable" in out
