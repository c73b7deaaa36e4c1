"""respicast-eval: a whole rolling-origin backtest (mode=backtest), or a trained run's checkpoint
scored again (mode=checkpoint), optionally with permutation importance by variable group."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from respicast.cli import CONFIG_DIR

log = logging.getLogger(__name__)
MODES = ("backtest", "checkpoint")


def _user_changed_data(cfg: DictConfig) -> bool:
    try:
        overrides = HydraConfig.get().overrides.task
    except ValueError:  # composed outside a Hydra app (tests)
        overrides = cfg.get("_data_overrides_", [])
    return any(o.lstrip("+~").split("=")[0].split(".")[0] == "data" for o in overrides)


def backtest(cfg: DictConfig) -> dict[str, float]:
    from respicast.dataset.panel_datamodule import make_datamodule
    from respicast.evaluation.backtest import run_backtest
    from respicast.run_outputs import write_outputs

    dm = make_datamodule(cfg.data, seed=cfg.seed)
    dm.setup()
    out_dir = Path(cfg.paths.output_dir)
    pooled, fold_metrics = run_backtest(cfg, dm, out_dir)
    return write_outputs(
        cfg,
        dm,
        pooled,
        out_dir,
        extra_metrics=fold_metrics,
        model_name=f"{cfg.model.get('name', 'model')} (backtest)",
    )


def checkpoint(cfg: DictConfig) -> dict[str, float]:
    from respicast.dataset.datamodule import WindowDataModule
    from respicast.evaluation import evaluate_predictions
    from respicast.models.predict import predict_part
    from respicast.run_dir import RunDir
    from respicast.run_outputs import write_outputs
    from respicast.trained_run import RunError, load_model, load_run, requested_data_config

    if not cfg.get("run_dir"):
        raise RunError("mode=checkpoint needs run_dir=<a respicast-train run dir or a .ckpt in it>")
    run = load_run(cfg.run_dir, cfg.get("checkpoint", "best"))
    data_cfg = (
        requested_data_config(run.cfg.data, cfg.data) if _user_changed_data(cfg) else run.cfg.data
    )
    dm = WindowDataModule(data_cfg, seed=run.cfg.seed)
    # a refit model: val is in its training part (its scores there are in-sample)
    run.setup_data(dm)
    model = load_model(run, dm)
    model.name = run.model_name
    preds = {part: predict_part(model, dm, part) for part in ("val", "test")}
    result = evaluate_predictions(preds["val"], preds["test"], cfg.evaluation, dm.reference_prob())
    extra = {}
    out_dir = Path(cfg.paths.output_dir)
    if cfg.get("importance") == "groups":
        from respicast.evaluation.importance import group_importance

        imp = group_importance(
            model, dm.part("test"), n_repeats=int(cfg.importance_repeats), seed=cfg.seed
        )
        RunDir(out_dir).write_importance(imp)
        for row in imp.iter_rows(named=True):
            extra[f"importance/{row['group']}/delta_auroc_h{row['horizon']}"] = row["delta"]
        log.info("permutation importance by group:\n%s", imp)
    elif cfg.get("importance"):
        raise ValueError(f"importance={cfg.importance!r}: only 'groups' is supported")
    run_cfg = OmegaConf.merge(run.cfg, {"data": data_cfg, "evaluation": cfg.evaluation})
    return write_outputs(run_cfg, dm, result, out_dir, model=model, extra_metrics=extra)


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="eval")
def main(cfg: DictConfig) -> float | None:
    # heavy imports here, not at module load: `respicast-eval --help` must start fast
    from respicast.trained_run import RunError
    from respicast.utils.run_files import apply_extras
    from respicast.utils.setup import setup_run

    if cfg.mode not in MODES:
        raise ValueError(f"mode={cfg.mode!r}: choose one of {MODES}")
    apply_extras(cfg)
    setup_run(cfg)

    try:
        metrics = backtest(cfg) if cfg.mode == "backtest" else checkpoint(cfg)
    except RunError as e:  # bad input: say it plainly, no traceback
        log.error("respicast-eval: %s", e)
        raise SystemExit(2) from None
    value = metrics.get(cfg.get("optimized_metric", ""), float("nan"))
    return float(value) if value is not None and not math.isnan(value) else None


if __name__ == "__main__":
    main()
