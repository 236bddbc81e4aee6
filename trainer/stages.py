"""The table of training stages, torch-free: what `stage: NAME` in a config means.

A stage is a `Stage` (build_model, loss, make_dataset, evaluate callables) defined as the
module-level `STAGE` of the module named here. `trainer.config` validates `stage` against this
table and `trainer.engine.get_stage` imports the module on first use, so neither the config nor
the engine imports a stage module statically (no import circle: stage modules import the engine's
helpers, never the other way round). Stage-specific config sections are declared in
trainer.config (STAGE_SECTIONS), not registered by the stage modules.
"""

import dataclasses
import typing

STAGE_MODULES = {"2d": "trainer.models2d", "3d": "trainer.stage3d"}


@dataclasses.dataclass
class Stage:
    """One training stage for trainer.engine.

    build_model(cfg) -> nn.Module; loss(model, batch, cfg) -> (total tensor, {name: float});
    make_dataset(cfg, roots, split, train, **kw) -> Dataset of dicts of arrays (None: data.make_dataset);
    evaluate(run_dir, cfg, model, roots, split, out_dir, device) -> metrics dict (None: no `hopgen eval`);
    init(model, cfg) -> None: initialises the freshly built model when a training run starts (not on
    --resume, not when `hopgen eval` rebuilds a run's model), e.g. from another run's weights (None: nothing).
    """
    name: str
    build_model: typing.Callable
    loss: typing.Callable
    make_dataset: typing.Optional[typing.Callable] = None
    evaluate: typing.Optional[typing.Callable] = None
    init: typing.Optional[typing.Callable] = None
