"""Against peers: whole training runs by hbaezoo's trainer vs pythae's and torch-mimicry's, identical nets.

    bash benchmarks/peers.sh [--steps 30] [--rounds 5] [--only vae gan cgan] [-b BINDING] [--out X.json --note ...]

(`peers.sh` makes `.venv-peers` with pythae and torch-mimicry, which are never hbaezoo
dependencies, then runs this file.) Each peer trains *the same network objects* that the
hbaezoo recipe builds, wrapped in the peer's own base classes, on the same in-memory images,
batch size, optimiser and loss:

- vae:  `models.vae` of gin/vae_shapes.gin vs `pythae.models.VAE` + `pythae.trainers.BaseTrainer`
        (σ = 1 on our side so both minimise ½‖x − G(z)‖² + KL, pythae's "mse" ELBO).
- gan:  `models.gan` of gin/gan_shapes.gin vs torch-mimicry's `Trainer` with SNGAN base classes
        (hinge loss, n_dis = 1, Adam 4e-4 / 2e-4, β = (0, 0.9)).
- cgan: `models.cgan` of gin/cgan_shapes.gin vs torch-mimicry's cGAN-PD base classes.

A round times one complete `train()` of `--steps` steps from fresh copies of the initial nets,
setup and final save included, with each library logging once (at the end) and saving once.
Rounds alternate between the libraries; the median of each is reported with the ratio
hbaezoo ÷ peer (target >= 1.0).
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import logging
import os
import sys
import tempfile
import time
import types

os.environ.setdefault("TQDM_DISABLE", "1")  # pythae's progress bars; ours are off too
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import torch
import torch.nn.functional as F
import torchvision  # noqa: F401  (torchvision before any TensorFlow: the reverse order segfaults in triton)
from common import alternate, build, clear_gin, machine, record_options, write_record

MISSING = (
    "benchmarks/peers.py needs pythae and torch-mimicry, which hbaezoo does not depend on. "
    "Run it through `bash benchmarks/peers.sh`, which makes .venv-peers with both."
)


def import_peers():
    """Import pythae and torch_mimicry, bridging what torch-mimicry 0.1.16 expects of old stacks."""
    if importlib.util.find_spec("pythae") is None or importlib.util.find_spec("torch_mimicry") is None:
        sys.exit(MISSING)
    # torch-mimicry imports `torch._six` (removed in torch 2.0) and, for its Inception metrics
    # only, TensorFlow; neither is used by its training loop, so stand-ins are enough here.
    six = types.ModuleType("torch._six")
    six.PY3, six.string_classes = True, (str, bytes)
    sys.modules.setdefault("torch._six", six)
    import pythae  # noqa: F401
    import torch._dynamo
    import torch.utils.tensorboard  # noqa: F401  (looks for TensorFlow itself: must not meet the stand-in)

    stand_in = importlib.util.find_spec("tensorflow") is None
    if stand_in:
        sys.modules["tensorflow"] = types.ModuleType("tensorflow")
    import torch_mimicry  # noqa: F401

    if stand_in:
        del sys.modules["tensorflow"]  # mimicry holds it; anything imported later must see TF absent
    from pythae.trainers import BaseTrainer  # noqa: F401  (creates pythae's loggers, silenced below)

    for name in list(logging.root.manager.loggerDict):
        if name.startswith("pythae"):
            logging.getLogger(name).setLevel(logging.WARNING)


def images_of(dataset, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first n training images in [-1, 1] and their labels, as both sides consume them."""
    images, labels = zip(*(dataset[i % len(dataset)] for i in range(n)))
    return torch.stack(images), torch.tensor(labels, dtype=torch.long)


def hbaezoo_run(model, dataset, steps: int, batch_size: int):
    """One whole hbaezoo training run: Trainer construction, fit(), final preview grid and checkpoint."""
    from hbaezoo.training.trainer import Trainer

    def run() -> float:
        with tempfile.TemporaryDirectory() as run_dir:
            start = time.perf_counter()
            Trainer(copy.deepcopy(model), dataset, run_dir, steps=steps, batch_size=batch_size, log_every=steps,
                    sample_every=steps, checkpoint_every=steps, progress=False).fit()
            return steps * batch_size / (time.perf_counter() - start)

    return run


# -- pythae: the VAE ---------------------------------------------------------------------------------
def pythae_vae_run(model, x: torch.Tensor, batch_size: int, lr: float, betas):
    from pythae.data.datasets import BaseDataset
    from pythae.models import VAE, VAEConfig
    from pythae.models.base.base_utils import ModelOutput
    from pythae.models.nn import BaseDecoder, BaseEncoder
    from pythae.trainers import BaseTrainer, BaseTrainerConfig

    from hbaezoo.models.base import Encodes

    class Encoder(BaseEncoder):
        """hbaezoo's encoder, pooler and Gaussian head, answering in pythae's ModelOutput."""

        def __init__(self, vae):
            super().__init__()
            self.encoder, self.pooler, self.head = vae.encoder, vae.pooler, vae.head

        def forward(self, images):
            posterior = Encodes.encode(self, images)
            return ModelOutput(embedding=posterior.mean, log_covariance=posterior.logvar)

    class Decoder(BaseDecoder):
        """hbaezoo's noise-free generator as pythae's decoder."""

        def __init__(self, vae):
            super().__init__()
            self.generator = vae.generator

        def forward(self, z):
            return ModelOutput(reconstruction=self.generator(z, z.new_zeros(z.shape[0], 0)))

    class Trainer(BaseTrainer):
        def save_model(self, model, dir_path):
            # pythae cloudpickles whole modules; spectral-norm (parametrized) modules save only as a state_dict.
            os.makedirs(dir_path, exist_ok=True)
            torch.save(model.state_dict(), os.path.join(dir_path, "model.pt"))

    def run() -> float:
        vae = copy.deepcopy(model)
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            config = VAEConfig(input_dim=tuple(x.shape[1:]), latent_dim=vae.z_dim, reconstruction_loss="mse")
            peer = VAE(config, encoder=Encoder(vae), decoder=Decoder(vae))
            training = BaseTrainerConfig(
                output_dir=out, num_epochs=1, per_device_train_batch_size=batch_size, learning_rate=lr,
                optimizer_cls="Adam", optimizer_params={"betas": tuple(betas)}, keep_best_on_train=True,
                no_cuda=not torch.cuda.is_available(),
            )
            _quietly(Trainer(peer, train_dataset=BaseDataset(x, torch.zeros(len(x))), training_config=training).train)
            return x.shape[0] / (time.perf_counter() - start)

    return run


# -- torch-mimicry: SNGAN and cGAN-PD ----------------------------------------------------------------
def mimicry_run(model, x: torch.Tensor, y: torch.Tensor, steps: int, batch_size: int, lrs, betas, conditional: bool):
    from torch_mimicry.nets.cgan_pd.cgan_pd_base import CGANPDBaseDiscriminator, CGANPDBaseGenerator
    from torch_mimicry.nets.sngan.sngan_base import SNGANBaseDiscriminator, SNGANBaseGenerator
    from torch_mimicry.training import Trainer as MimicryTrainer

    num_classes = model.num_classes

    def one_hot(labels):
        return F.one_hot(labels.long(), num_classes).float()

    class Generator(SNGANBaseGenerator):
        def __init__(self, gan):
            super().__init__(nz=gan.noise_dim, ngf=0, bottom_width=4, loss_type="hinge")
            self.net = gan.generator

        def forward(self, noise):
            return self.net(noise.new_zeros(noise.shape[0], 0), noise)

    class Discriminator(SNGANBaseDiscriminator):
        def __init__(self, gan):
            super().__init__(ndf=0, loss_type="hinge")
            self.net = gan.discriminator

        def forward(self, images):
            return self.net(images, images.new_zeros(images.shape[0], 0))

    class ConditionalGenerator(CGANPDBaseGenerator):
        def __init__(self, gan):
            super().__init__(num_classes=num_classes, bottom_width=4, nz=gan.noise_dim, ngf=0, loss_type="hinge")
            self.net = gan.generator

        def forward(self, noise, labels):
            return self.net(one_hot(labels), noise)

    class ConditionalDiscriminator(CGANPDBaseDiscriminator):
        def __init__(self, gan):
            super().__init__(num_classes=num_classes, ndf=0, loss_type="hinge")
            self.net = gan.discriminator

        def forward(self, images, labels):
            return self.net(images, one_hot(labels))

    make_g, make_d = (ConditionalGenerator, ConditionalDiscriminator) if conditional else (Generator, Discriminator)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

    def run() -> float:
        gan = copy.deepcopy(model)
        with tempfile.TemporaryDirectory() as log_dir:
            start = time.perf_counter()
            net_g, net_d = make_g(gan).to(device), make_d(gan).to(device)
            opt_d = torch.optim.Adam(net_d.parameters(), lr=lrs["critic"], betas=tuple(betas))
            opt_g = torch.optim.Adam(net_g.parameters(), lr=lrs["generator"], betas=tuple(betas))
            loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=batch_size,
                                                 shuffle=True, drop_last=True)
            trainer = MimicryTrainer(netD=net_d, netG=net_g, optD=opt_d, optG=opt_g, dataloader=loader,
                                     num_steps=steps, n_dis=1, log_dir=log_dir, device=device, print_steps=steps,
                                     log_steps=steps, vis_steps=10**9, save_steps=10**9)
            _quietly(trainer.train)
            return steps * batch_size / (time.perf_counter() - start)

    return run


def _quietly(fn):
    """Run fn with its console output swallowed (the peers print per log step and per save)."""
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return fn()


# -- the comparisons ---------------------------------------------------------------------------------
def optimiser_settings(group: str) -> tuple[float, tuple[float, float]]:
    """The recipe's Adam learning rate and betas for a parameter group (gin scope)."""
    import gin

    from hbaezoo.registry import OPTIMIZERS

    with gin.config_scope(group):
        probe = OPTIMIZERS.get("adam")([torch.nn.Parameter(torch.zeros(1))])
    settings = probe.param_groups[0]
    return settings["lr"], settings["betas"]


def compare(name: str, recipe: str, bindings: list[str], steps: int, rounds: int) -> dict:
    import gin

    clear_gin()
    model, dataset = build(recipe, bindings)
    batch_size = gin.query_parameter("Trainer.batch_size")
    x, y = images_of(dataset, steps * batch_size)
    ours = hbaezoo_run(model, dataset, steps, batch_size)
    if name == "vae":
        lr, betas = optimiser_settings("autoencoder")
        peer_name, peer = "pythae", pythae_vae_run(model, x, batch_size, lr, betas)
    else:
        (lr_c, betas), (lr_g, _) = optimiser_settings("critic"), optimiser_settings("generator")
        peer_name = "torch-mimicry"
        peer = mimicry_run(model, x, y, steps, batch_size, {"critic": lr_c, "generator": lr_g}, betas,
                           conditional=name == "cgan")
    ours(), peer()  # warm-up: first-call allocations and lazy imports
    result = alternate({"hbaezoo": ours, peer_name: peer}, rounds=rounds)
    print(f"{name}: {recipe} (batch {batch_size}, {steps} steps per run, median of {rounds} rounds)")
    for lib, value in result.items():
        print(f"  {lib:14s} {value:8.1f} images/s")
    print(f"  ratio hbaezoo / {peer_name}: {result['hbaezoo'] / result[peer_name]:.3f}")
    return {"recipe": recipe, "peer": peer_name, "batch": batch_size, "images_per_s": result}


COMPARISONS = {
    "vae": ("vae_shapes.gin", ["models.vae.decoder_std = 1.0"]),
    "gan": ("gan_shapes.gin", []),
    "cgan": ("cgan_shapes.gin", []),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=30, help="training steps per timed run")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("-b", "--binding", action="append", default=[],
                        help="gin binding for the hbaezoo side, e.g. -b 'Trainer.channels_last = False'")
    parser.add_argument("--only", nargs="+", choices=sorted(COMPARISONS), default=list(COMPARISONS))
    record_options(parser)
    args = parser.parse_args()
    import_peers()
    from importlib.metadata import version

    print(f"machine: {machine()}; pythae {version('pythae')}, torch-mimicry {version('torch-mimicry')}")
    comparisons = {}
    for name in args.only:
        recipe, bindings = COMPARISONS[name]
        comparisons[name] = compare(name, recipe, [*bindings, *args.binding], args.steps, args.rounds)
    write_record(args, "auto", launcher="bash peers.sh", peers={"pythae": version("pythae"), "torch-mimicry": version("torch-mimicry")},
                 bindings=args.binding, steps=args.steps, rounds=args.rounds, comparisons=comparisons)


if __name__ == "__main__":
    main()
