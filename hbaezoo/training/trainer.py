"""The one trainer: runs any model's phases, and owns everything around them.

Per step, for each phase the model lists: only that phase's group requires grad, its
optimizer steps on `phase.loss(batch)`. Around the loop: optimizers and schedules per
group (gin-scoped by group name), EMA of the generator, device/AMP/channels_last, TF32,
torch.compile and CUDA graphs (training/backends.py), progress, metrics, sample grids, atomic
checkpoints and automatic resume (what they hold of the trainer: training/checkpointing.py).
"""

from __future__ import annotations

import copy
import random
import signal
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import gin
import numpy as np
import torch
from rich.markup import escape
from torch.optim.swa_utils import get_ema_multi_avg_fn

from hbaezoo.console import err_console
from hbaezoo.data.base import ImageDataset
from hbaezoo.data.batches import BatchPlan, batches
from hbaezoo.data.labelled import labelled_mask
from hbaezoo.devices import fast_bf16, resolve_device
from hbaezoo.errors import ConfigError, TrainingError
from hbaezoo.limits import check_batch
from hbaezoo.models.base import Model
from hbaezoo.registry import OPTIMIZERS, SCHEDULES
from hbaezoo.rundir.layout import RunDir
from hbaezoo.scopes import seeded
from hbaezoo.seeds import check_seed
from hbaezoo.training import backends, checkpointing, distributed
from hbaezoo.training.logging import MetricsLog, TrainProgress
from hbaezoo.training.previews import save_previews
from hbaezoo.training.records import record_operative, record_run


def estimation_batches(dataset: ImageDataset, *, set_size: int | None, seed: int, small_groups: str, images: int):
    """The training batches a model's estimates are fitted on (`Trainer.estimate`): about `images` images in sets
    of `set_size`, under a batch plan of their own (seed + 1), so the training batches are untouched."""
    k = set_size or 1
    plan = BatchPlan(dataset.group_ids, batch_size=max(1, 256 // k), set_size=set_size, seed=seed + 1,
                     small_groups=small_groups)
    return batches(dataset, plan, start=0, stop=-(-images // (plan.batch_size * k)))


@gin.configurable("Trainer", module="hbaezoo")
class Trainer:
    """Trains a model's phases on a dataset into a run directory; resumes automatically."""

    def __init__(
        self,
        model: Model,
        dataset: ImageDataset,
        run_dir: Path,
        *,
        steps: int = 1000,
        batch_size: int = 64,
        set_size: int | None = None,
        small_groups: str = "replace",
        seed: int = 0,
        optimizer=None,
        schedule=None,
        ema_decay: float | None = None,
        device: str = "auto",
        amp: str | None = None,
        channels_last: bool = True,
        compile: bool | str = False,
        tf32: bool = True,
        sync_batchnorm: bool = False,
        num_workers: int = 0,
        log_every: int = 10,
        sample_every: int = 500,
        checkpoint_every: int = 500,
        keep_checkpoints: int = 3,
        max_nonfinite: int = 10,
        preview_modes: tuple[str, ...] = ("recon", "uncond", "set_recon"),
        estimate_images: int = 2048,
        progress: bool = True,
        tensorboard: bool = True,
        labelled_fraction: float = 1.0,
    ) -> None:
        for name, value, low in (("steps", steps, 0), ("batch_size", batch_size, 1), ("log_every", log_every, 1),
                                 ("sample_every", sample_every, 1), ("checkpoint_every", checkpoint_every, 1),
                                 ("keep_checkpoints", keep_checkpoints, 0), ("max_nonfinite", max_nonfinite, 1),
                                 ("num_workers", num_workers, 0), ("seed", seed, 0),
                                 ("estimate_images", estimate_images, 1)):
            if type(value) is not int or value < low:
                raise ConfigError(f"Trainer.{name} must be an integer >= {low}, got {value!r}.")
        check_seed(seed, "Trainer.seed")
        if ema_decay is not None and not (isinstance(ema_decay, (int, float)) and 0 <= ema_decay < 1):
            raise ConfigError(f"Trainer.ema_decay must be None or a number in [0, 1), got {ema_decay!r}.")
        if amp not in (None, "bf16", "fp16"):
            raise ConfigError(f"Trainer.amp must be None, 'bf16' or 'fp16', got {amp!r}.")
        self.model, self.dataset, self.run_dir = model, dataset, Path(run_dir)
        self.rundir = RunDir(run_dir)
        if set_size is not None and (not isinstance(set_size, int) or set_size < 1):
            raise ConfigError(f"Trainer.set_size must be None (single images) or an integer >= 1, got {set_size!r}.")
        check_batch(batch_size, set_size, dataset.image_shape)
        self.steps, self.batch_size, self.set_size, self.seed = steps, batch_size, set_size, seed
        self.log_every, self.sample_every, self.checkpoint_every = log_every, sample_every, checkpoint_every
        self.keep_checkpoints, self.max_nonfinite = keep_checkpoints, max_nonfinite
        self.preview_modes, self.show_progress, self.num_workers = tuple(preview_modes), progress, num_workers
        self.tensorboard = tensorboard
        self.estimate_images, self._estimated_at = estimate_images, None
        self.compile_mode = backends.compile_mode(compile)
        self.dist = distributed.init(device)
        self.device = resolve_device(device) if not self.dist.enabled else self.dist.device
        backends.set_tf32(self.device, tf32)
        self.captures_graphs = backends.captures_graphs(self.compile_mode, self.device)
        self.amp = amp
        if amp == "bf16" and not fast_bf16(self.device):
            # A recipe may ask for bf16 (the README job does); where it is emulated, it costs time and buys none.
            self._warn(f"Trainer.amp = 'bf16', and {self.device} has no native bf16 (a CPU without AVX-512 BF16/AMX, a "
                       f"GPU before Ampere): autocast emulates it, likely slower than float32. "
                       f"`-b \"Trainer.amp = None\"` trains in float32.")
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        torch.manual_seed(seed + self.dist.rank)
        random.seed(seed)
        np.random.seed(seed)

        if sync_batchnorm and self.dist.enabled:
            # Batch statistics over the global batch, as a single process would compute them.
            self.model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(self.model)
        self.model.to(self.device, memory_format=self.memory_format)
        self.groups = model.param_groups()
        self._check_groups()
        self.dist.broadcast_parameters(self.model)
        make_optimizer = optimizer or OPTIMIZERS.get("adam")
        make_schedule = schedule or SCHEDULES.get("constant")
        self.optimizers, self.schedules = {}, {}
        for group, params in self.groups.items():
            with gin.config_scope(group):
                self.optimizers[group] = make_optimizer(params)
                self.schedules[group] = make_schedule(self.optimizers[group], steps=steps)
        self.scalers = {
            g: torch.amp.GradScaler(self.device.type, enabled=amp == "fp16") for g in self.groups
        }
        self.ema_decay = ema_decay
        self.ema = None
        if ema_decay is not None:
            if not model.averaged_parts:
                raise ConfigError(
                    f"Trainer.ema_decay is set, but {model.display_name} names no parts to average "
                    f"(its averaged_parts is empty). Remove Trainer.ema_decay from the recipe."
                )
            self.ema = torch.nn.ModuleDict(
                {name: copy.deepcopy(getattr(model, name)) for name in model.averaged_parts}
            ).requires_grad_(False)
            # torch's EMA step (one foreach lerp per part); not AveragedModel: see docs/architecture.md.
            self._ema_update = get_ema_multi_avg_fn(ema_decay)
        self.plan = BatchPlan(
            dataset.group_ids, batch_size=batch_size, set_size=set_size, seed=seed,
            small_groups=small_groups, rank=self.dist.rank, world_size=self.dist.world_size,
        )
        # Semi-supervised runs (paper §3) see the labels of a seeded fraction of the groups only.
        self.known, self.labelled = None, None
        if labelled_fraction != 1.0:
            if dataset.num_classes < 2:
                raise ConfigError(f"Trainer.labelled_fraction = {labelled_fraction!r} hides labels, but the dataset "
                                  f"carries none ({dataset.num_classes} classes). Remove the binding, or use a labelled "
                                  f"dataset such as datasets.shapes.")
            self.known = labelled_mask(dataset.group_ids, labelled_fraction, seed)
            self.labelled = {"fraction": labelled_fraction, "images": int(self.known.sum()),
                             "groups": int(dataset.group_ids[self.known].unique().numel())}
        self.step = 0
        self.nonfinite_in_a_row = 0
        if self.compile_mode is not None:
            backends.compile_parts(self.model, self.compile_mode)  # after the EMA copy, which stays eager
        self._stop_signal: int | None = None

    # -- setup helpers ---------------------------------------------------------------------------
    def _check_groups(self) -> None:
        seen: dict[int, str] = {}
        for group, params in self.groups.items():
            for p in params:
                if id(p) in seen:
                    raise ConfigError(f"a parameter is in both optimizer groups '{seen[id(p)]}' and '{group}'.")
                seen[id(p)] = group
        orphans = [n for n, p in self.model.named_parameters() if p.requires_grad and id(p) not in seen]
        if orphans:
            raise ConfigError(f"parameters in no optimizer group (they would never train): {orphans[:5]}")

    def state(self) -> dict[str, Any]:
        """Everything a checkpoint holds beside the model's weights (training/checkpointing.py)."""
        return checkpointing.trainer_state(self)

    def estimate(self) -> None:
        """Let the model fit what it estimates from data (a sampling prior over codes) on the codes of
        `estimate_images` training images, once per step that saves or previews.

        Its own batch plan and seed, eval mode and no gradients: the training batches, RNG streams
        and batch-norm statistics are untouched, so a resumed run stays bit-identical.
        """
        # Only the main process saves and previews, so only it needs the fit.
        if not self.model.estimates or self._estimated_at == self.step or not self.dist.is_main:
            return
        fitted_on = estimation_batches(self.dataset, set_size=self.set_size, seed=self.seed,
                                       small_groups=self.plan.small_groups, images=self.estimate_images)
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad(), seeded(self.seed + 1, self.device):
                self.model.estimate(self.place(b) for b in fitted_on)
        except (ValueError, np.linalg.LinAlgError) as exc:  # a degenerate fit must not cost the checkpoint
            self._warn(f"step {self.step}: fitting the model's estimates to the training codes failed ({exc}); "
                       f"sampling keeps the last fit.")
        finally:
            self.model.train(was_training)
        self._estimated_at = self.step

    def save_checkpoint(self) -> None:
        self.estimate()
        checkpointing.save(self)

    def resume(self) -> bool:
        """Load the newest good checkpoint of the run dir, if any. True if resumed."""
        return checkpointing.resume(self)

    def _warn(self, message: str) -> None:
        if self.dist.is_main:
            err_console.print(f"[yellow]warning:[/] {escape(message)}", highlight=False)

    # -- the loop --------------------------------------------------------------------------------
    def _autocast(self):
        if self.amp is None:
            return nullcontext()
        dtype = torch.bfloat16 if self.amp == "bf16" else torch.float16
        return torch.autocast(self.device.type, dtype=dtype)

    def place(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """A batch from the loader on the trainer's device, images in its memory layout."""
        batch = {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}
        if batch["x"].ndim == 4:
            batch["x"] = batch["x"].contiguous(memory_format=self.memory_format)
        return batch

    def train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Run every phase once on `batch`; returns detached logs (skipped phases log `skipped`)."""
        logs: dict[str, torch.Tensor] = {}
        for phase in self.model.phases():
            for group, params in self.groups.items():
                for p in params:
                    p.requires_grad_(group == phase.group)
            optimizer, scaler = self.optimizers[phase.group], self.scalers[phase.group]
            optimizer.zero_grad(set_to_none=True)
            if self.captures_graphs:
                torch.compiler.cudagraph_mark_step_begin()  # the previous phase's graph outputs are dead
            with self._autocast():
                loss, phase_logs = phase.loss(batch)
            if not torch.isfinite(loss):
                self._nonfinite(phase.group, phase_logs, loss)
                logs[f"{phase.group}/skipped"] = torch.ones(())
                continue
            scaler.scale(loss).backward()
            self.dist.average_gradients(self.groups[phase.group])
            scaler.step(optimizer)
            scaler.update()
            self.schedules[phase.group].step()
            phase_logs = {"loss": loss.detach(), **phase_logs}
            if self.captures_graphs:
                # A log may be a CUDA graph's output, which the next phase's replays overwrite.
                phase_logs = {k: v.clone() for k, v in phase_logs.items()}
            logs.update({f"{phase.group}/{k}": v for k, v in phase_logs.items()})
        for params in self.groups.values():
            for p in params:
                p.requires_grad_(True)
        if not any(k.endswith("/skipped") for k in logs):
            self.nonfinite_in_a_row = 0
        if self.ema is not None:
            with torch.no_grad():
                for name, averaged in self.ema.items():
                    part = getattr(self.model, name)
                    if averaged_params := list(averaged.parameters()):
                        self._ema_update(averaged_params, list(part.parameters()), None)
                    for e, b in zip(averaged.buffers(), part.buffers()):
                        e.copy_(b)  # batch-norm statistics follow the live part
        return logs

    def _nonfinite(self, group: str, phase_logs: dict, loss: torch.Tensor) -> None:
        self.nonfinite_in_a_row += 1
        bad = [k for k, v in phase_logs.items() if not torch.isfinite(v).all()]
        self._warn(f"step {self.step}: non-finite {group} loss ({loss.item()}; terms {bad or ['loss']}); step skipped.")
        if self.nonfinite_in_a_row >= self.max_nonfinite:
            self.save_checkpoint()
            raise TrainingError(
                f"{self.nonfinite_in_a_row} non-finite losses in a row in phase '{group}' "
                f"(terms: {', '.join(bad) or 'loss'}) at step {self.step}. The state was saved in "
                f"{self.rundir.checkpoints}. Lower the learning rate (e.g. -b '{group}/optimizers.adam.lr=1e-4') "
                f"or check the data, then run the same command to resume."
            )

    def _on_signal(self, signum, frame) -> None:
        self._stop_signal = signum

    def fit(self) -> dict[str, float]:
        """Train to `steps` (resuming if the run dir has a checkpoint); returns the last logs."""
        # Used directly from Python, nobody wrote data.json and config.gin yet; `hbaezoo.load` needs both.
        recorded = record_run(self, self._warn) if self.dist.is_main else False
        resumed = self.resume()
        if self.dist.is_main:
            self.rundir.cut_metrics(self.step)  # steps logged after that checkpoint are logged again below
        if resumed and self.dist.is_main:
            err_console.print(f"[green]resuming[/] {escape(str(self.run_dir))} from step {self.step}", highlight=False)
        self.model.train()
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        metrics = MetricsLog(self.rundir, enabled=self.dist.is_main, tensorboard=self.tensorboard)
        images_per_step = self.batch_size * (self.set_size or 1)
        last: dict[str, float] = {}
        # Previews always show step 0's first examples, so grids of a resumed run line up.
        preview_batch = {k: v[:8].to(self.device)
                         for k, v in next(batches(self.dataset, self.plan, start=0, stop=1, known=self.known)).items()}
        try:
            with TrainProgress(self.steps, self.step, enabled=self.show_progress and self.dist.is_main) as bar:
                stream = batches(self.dataset, self.plan, start=self.step, stop=self.steps, known=self.known,
                                 num_workers=self.num_workers, pin_memory=self.device.type == "cuda")
                window_start, window_steps = time.perf_counter(), 0
                for batch in stream:
                    logs = self.train_step(self.place(batch))
                    self.step += 1
                    window_steps += 1
                    if self.step % self.log_every == 0 or self.step == self.steps:
                        elapsed = time.perf_counter() - window_start
                        last = {k: float(v) for k, v in logs.items()}
                        last["images_per_sec"] = window_steps * images_per_step / max(elapsed, 1e-9)
                        for g, o in self.optimizers.items():
                            last[f"{g}/lr"] = o.param_groups[0]["lr"]
                        metrics.write(self.step, last)
                        bar.update(self.step, last)
                        window_start, window_steps = time.perf_counter(), 0
                    else:
                        bar.update(self.step, None)
                    if self.dist.is_main and (self.step % self.sample_every == 0 or self.step == self.steps):
                        self.estimate()
                        save_previews(self, preview_batch)
                    if self.step % self.checkpoint_every == 0 or self.step == self.steps:
                        self.save_checkpoint()
                    if self._stop_signal is not None:
                        break
            if self._stop_signal is not None:
                if self.step % self.checkpoint_every and self.step != self.steps:
                    self.save_checkpoint()
                name = signal.Signals(self._stop_signal).name
                raise KeyboardInterrupt(
                    f"{name} received: stopped after step {self.step} and saved a checkpoint. "
                    f"Run the same command again to resume."
                )
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
            metrics.close()
        if self.steps == self.step and self.step == 0:
            self.save_checkpoint()
        if recorded:
            record_operative(self.rundir)
        return last
