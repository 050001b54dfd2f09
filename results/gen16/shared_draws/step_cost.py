"""Images/s of Trainer.train_step for the shipped Set-HBAE recipe under a few bindings, alternating rounds.

Kept with the shared-draws screen (docs/results.md): before.log ran on the code as merged, shared.log on the
withdrawn change; run from the repository root: python results/gen16/shared_draws/step_cost.py
"""
import copy, sys, tempfile
sys.path.insert(0, "benchmarks")
import gin, torch
from common import alternate, batch_shape, build, images_in, rate
from hbaezoo.data.batches import BatchPlan, batches
from hbaezoo.training.trainer import Trainer

variants = {"shipped": [], "match0": ["models.set_hbae.regulariser_match = 0.0"],
            "adv0": ["models.set_hbae.adversarial_weight = 0.0"]}
steps = {}
for name, bindings in variants.items():
    gin.clear_config()
    model, dataset = build("set_hbae_shapes.gin", bindings)
    batch_size, set_size = batch_shape()
    trainer = Trainer(model, dataset, tempfile.mkdtemp(), steps=10**9, batch_size=batch_size, set_size=set_size,
                      progress=False, tensorboard=False)
    plan = BatchPlan(dataset.group_ids, batch_size=batch_size, set_size=set_size)
    fixed = [trainer.place({"x": next(batches(dataset, plan, start=s, stop=s + 1))["x"]})["x"] for s in range(4)]
    def step(trainer=trainer, fixed=fixed, it=iter(range(10**9))):
        x = fixed[next(it) % 4]
        trainer.train_step({"x": x, "y": torch.zeros(x.shape[0], dtype=torch.long)})
        return images_in(x)
    step()
    steps[name] = step
result = alternate({n: (lambda s=s: rate(s, 4.0)) for n, s in steps.items()}, rounds=3)
for n, v in result.items():
    print(f"{n:10s} {v:7.1f} img/s  ({v / result['shipped']:.2f}x shipped)")
