"""HBAE (Eq. 7) and Set-HBAE (Eq. 8): a projection cGAN whose condition is a learned code.

The critic phase trains encoder and discriminator jointly against the generator,
    −mean_i D(xⁱ|z) + D(G(z'|z)|z) + β·MMD(q(z) ‖ N(0, I)) + λ·mean_i ‖xⁱ − G(0|z)‖₁,
with z = E(x) the (set) code; the generator phase raises D(G(z'|z)|z) with z fixed.
A single image is a set of one, so Set-HBAE is the same model fed sets.

Choices the paper leaves to a literal reading are switches (docs/results.md measures them):
which adversarial gradients reach the encoder in the critic phase — through the generator's
fakes (`encoder_through_generator`) and through the critic's projection
(`encoder_through_critic`); Eq. 7 read literally says both — and which parts the
reconstruction regulariser trains (`regulariser_trains`; the paper says the encoder).
Optional generator-phase terms are measured there too: R on noisy draws
(`regulariser_noise`), code consistency ‖E({G(z'ₖ|z)}ₖ) − z‖², a set's draws encoded as one set
(`code_consistency`), mode
seeking (`mode_seeking`: two draws of one code should differ as much as their z' do) and
feature matching (`feature_matching`: a set's draws should look, to the critic's trunk, as
its real elements do on average).
How loud the critic is for the generator beside R is `adversarial_weight` (1: Eq. 7 as written).
R may also compare a share of the set with draws matched to its views (`regulariser_match`, `matching`,
`match_draws`; models/matching.py), and a share of it with each element's redraw from its own inferred
view, G(vᵢ|z) (`regulariser_views`, `views_within_set`; models/views.py). Where the model samples, z' comes
from `noise_prior`: N(0, I) as in training, or a prior fitted to the inferred views after training, as
the code prior is fitted to the codes: a density of all views (`priors.gmm`), one of each view beside its
set's code drawn given the code (`priors.conditional_gmm`), or the views of the training sets whose codes
lie nearest, resampled (`priors.nearest`). Sampling reads codes off one image or part of a set; training may
too, in a share of its steps (`subset_codes`), or pull each element's code read alone to its set's (`view_codes`).
With `sleep` the critic phase also teaches the encoder to read each of the critic's fakes, alone, back to the code it
was drawn from (`sleep_error`: the sleep phase of wake-sleep): a Markov chain's step reads a drawn image.
With a `classifier` (models/semi_supervised.py) it is the semi-supervised HBAE of §3: the
critic phase adds γ·cross-entropy of the classifier on the codes of the examples that carry a label;
with `critic_labels` the critic reads those labels beside z instead, as a cGAN's does.
"""

from __future__ import annotations

import gin
import torch
from einops import rearrange, repeat

from hbaezoo.components.classifiers import cross_entropy_on_labelled
from hbaezoo.components.posterior import Posterior
from hbaezoo.components.priors import conditional, fits
from hbaezoo.errors import ConfigError
from hbaezoo.models.adversarial import ConditionalAdversarial
from hbaezoo.models.base import Batch, Encodes, as_set, build
from hbaezoo.models.generator_terms import GeneratorPhaseTerms
from hbaezoo.models.hbae_settings import check_settings, regularised_parts
from hbaezoo.models.matching import matched_distance
from hbaezoo.models.semi_supervised import ObservedLabels
from hbaezoo.models.views import ElementViews
from hbaezoo.registry import MODELS, PRIORS


@MODELS.register("hbae")
class HBAE(ObservedLabels, Encodes, ConditionalAdversarial, GeneratorPhaseTerms):
    """Hierarchical Bayes Autoencoder: encoder E, conditional generator G(z'|z), critic D(x|z)."""

    display_name = "HBAE"

    def __init__(
        self,
        *,
        image_shape,
        num_classes: int = 0,
        encoder=gin.REQUIRED,
        pooler=gin.REQUIRED,
        head=gin.REQUIRED,
        generator=gin.REQUIRED,
        discriminator=gin.REQUIRED,
        divergence=gin.REQUIRED,
        prior=None,
        noise_prior=None,
        regulariser=None,
        adversarial=None,
        penalty=None,
        z_dim: int = 64,
        noise_dim: int = 64,
        beta: float = 1.0,
        adversarial_weight: float = 1.0,
        encoder_through_generator: bool = True,
        encoder_through_critic: bool = True,
        regulariser_trains: tuple[str, ...] | dict[str, float] = ("encoder",),
        code_consistency: float = 0.0,
        mode_seeking: float = 0.0,
        feature_matching: float = 0.0,
        regulariser_noise: float = 0.0,
        regulariser_match: float = 0.0,
        regulariser_views: float = 0.0,
        views_within_set: bool = False,
        subset_codes: float = 0.0,
        view_codes: float = 0.0,
        sleep: float = 0.0,
        matching: str = "nearest",
        match_draws: int = 1,
        classifier=None,
        supervised_weight: float = 1.0,
        critic_labels: bool = False,
    ) -> None:
        super().__init__(
            image_shape=image_shape, num_classes=num_classes, cond_dim=z_dim, noise_dim=noise_dim,
            critic_cond_dim=z_dim + self.critic_label_dims(critic_labels, num_classes),
            generator=generator, discriminator=discriminator, adversarial=adversarial, penalty=penalty,
        )
        self.init_encoder(encoder=encoder, pooler=pooler, head=head, z_dim=z_dim, prior=prior)
        self.init_classifier(classifier, supervised_weight, critic_labels)
        self.divergence = build(divergence)
        self.regulariser = build(regulariser) if regulariser is not None else None
        self.beta = beta
        self.encoder_through_generator = encoder_through_generator
        self.encoder_through_critic = encoder_through_critic
        self.regulariser_trains = regularised_parts(regulariser_trains)
        check_settings(type(self).__name__, has_regulariser=regulariser is not None,
                       regulariser_trains=self.regulariser_trains, regulariser_match=regulariser_match,
                       regulariser_views=regulariser_views, regulariser_noise=regulariser_noise,
                       subset_codes=subset_codes, views_within_set=views_within_set, matching=matching,
                       match_draws=match_draws, code_consistency=code_consistency, mode_seeking=mode_seeking,
                       view_codes=view_codes, sleep=sleep, feature_matching=feature_matching,
                       adversarial_weight=adversarial_weight)
        self.code_consistency = code_consistency
        self.mode_seeking = mode_seeking
        self.feature_matching = feature_matching
        self.regulariser_noise = regulariser_noise
        self.adversarial_weight = adversarial_weight
        if feature_matching and not callable(getattr(self.discriminator, "features", None)):
            raise ConfigError(f"{type(self).__name__}.feature_matching = {feature_matching!r} compares the critic's "
                              f"features φ(x), but {type(self.discriminator).__name__} has no `features(x)` method; "
                              f"use a discriminator that has one (discriminators.projection) or set it to 0.")
        self.regulariser_match = regulariser_match
        self.regulariser_views = regulariser_views
        self.subset_codes = subset_codes
        self.view_codes = view_codes
        self.sleep = sleep
        noise_prior = noise_prior if noise_prior is not None else PRIORS.get("normal")
        # A conditional noise prior draws each view given its set's code.
        noise_prior = build(noise_prior, z_dim=noise_dim, **({"given_dim": z_dim} if conditional(noise_prior) else {}))
        if fits(noise_prior) and not regulariser_views:
            raise ConfigError(f"{type(self).__name__}.noise_prior = {type(noise_prior).__name__} is fitted to the "
                              f"inferred views, and this model infers none (regulariser_views = 0); set "
                              f"regulariser_views > 0 or leave noise_prior at N(0, I) (priors.normal).")
        # Built only when R uses the views: without them a draw's z' is N(0, I), in training and sampling alike.
        self.views = ElementViews(feature_dim=self.encoder.feature_dim, noise_dim=noise_dim,
                                  within_set=views_within_set, noise_prior=noise_prior,
                                  owner=type(self).__name__) if regulariser_views else None
        self.matching = matching
        self.match_draws = match_draws
        if adversarial_weight == 0 and not self.has_generator_terms:
            raise ConfigError(
                f"{type(self).__name__}.adversarial_weight = 0 leaves the generator no loss at all (R does not train "
                f"it: regulariser_trains = {tuple(self.regulariser_trains)}); add 'generator' to regulariser_trains "
                f"or give the critic a weight > 0."
            )

    def estimated_priors(self):
        """The code prior's, and the noise prior's where it is fitted to the views (models/views.py)."""
        if self.views is None:
            return super().estimated_priors()
        return [*super().estimated_priors(), *self.views.estimated_priors(lambda features: self.code(features).mean)]

    def critic_group_parameters(self):
        # Encoder and discriminator are trained jointly against the generator (paper §4.2); a classifier on the
        # codes and the view head train with the encoder they read.
        views = list(self.views.parameters()) if self.views is not None else []
        return [*self.encoder_parameters(), *self.discriminator.parameters(), *self.classifier_parameters(), *views]

    def condition(self, batch: Batch, terms: bool):
        x = as_set(batch["x"])
        if not terms:
            return self.training_code(self.element_features(x)).sample(), {}
        features, posterior, views = self.training_encoding(x)
        z = posterior.sample()
        out = {"divergence": self.beta * self.divergence(posterior)}
        if views is not None:
            out["view_divergence"] = self.view_divergence(views)
        if self.view_codes:
            out["view_codes"] = self.view_codes * self.one_view_gap(features)
        if self.regulariser is not None and self.regulariser_trains.get("encoder"):
            # Only the critic group (encoder, discriminator) steps here, so R moves the encoder.
            out["regulariser"] = self.regulariser_trains["encoder"] * self.reconstruction_penalty(x, z, views)
        if self.classifier is not None:
            out["supervised"] = self.supervised_term(batch, z)
        return z, out

    def measures(self, batch: Batch):
        """The phases' objectives written out term by term from the parts (Eq. 7/8 with this
        model's switches), apart from condition(), fake_terms() and generator_terms(), drawing noise in the
        phases' order: a sign or weight slip in one of those terms makes a phase step move its
        objective the wrong way wherever that term leads (see tests/components/test_losses.py).

        critic_objective  = critic loss of D(x|z) vs D(G(z'|z)|z) + β·D(q(z) ‖ p(z)) + s_E·R(x, z)
                            (+ β·MMD(views ‖ N(0, I)) with `regulariser_views`)
                            (+ w·mean_i ‖E(xⁱ) − E(x)‖² with `view_codes` w; z read off part of the set with
                            `subset_codes`)
                            (+ γ·cross-entropy of the classifier on the labelled codes, semi-supervised)
                            (+ w·mean ‖E(G(z'|z)) − z‖², each fake read alone, with `sleep` w: `fake_terms`)
        generator_objective = a·generator loss of D(G(z'|z)|z) + s_G·R(x, z) + c·‖E({G(z'ₖ|z)}ₖ) − z‖² + w·sameness(z)
                              + f·feature_gap(x, z)   (a = adversarial_weight)
        (R as `reconstruction_penalty` reads it: G(0|z), noisy or matched draws)
        """
        out = dict(super().measures(batch))
        x = as_set(batch["x"])
        k = x.shape[1]

        def scores(z: torch.Tensor, real: bool) -> tuple[torch.Tensor | None, torch.Tensor, torch.Tensor]:
            codes = repeat(self.critic_condition(batch, z), "b z -> (b k) z", k=k)
            d_real = self.score(rearrange(x, "b k c h w -> (b k) c h w"), codes, k) if real else None
            fakes = self.generate(z, k)
            return d_real, self.score(fakes, codes, k), fakes

        def critic_objective() -> torch.Tensor:
            features, posterior, views = self.training_encoding(x)
            z = posterior.sample()
            terms = self.beta * self.divergence(posterior)
            if views is not None:
                terms = terms + self.view_divergence(views)
            if self.view_codes:
                terms = terms + self.view_codes * self.one_view_gap(features)
            if self.regulariser is not None and self.regulariser_trains.get("encoder"):
                terms = terms + self.regulariser_trains["encoder"] * self.reconstruction_penalty(x, z, views)
            if self.classifier is not None:
                terms = terms + self.supervised_weight * cross_entropy_on_labelled(self.classifier(z), batch["y"])
            d_real, d_fake, fakes = scores(z, real=True)
            terms = terms + sum(self.fake_terms(z, fakes, k).values(), torch.zeros(()))
            return self.adversarial.critic(d_real, d_fake) + terms

        def generator_objective() -> torch.Tensor:
            z = self.training_code(self.element_features(x)).sample()
            objective = self.generator_adversarial(scores(z, real=False)[1])
            if self.regulariser is not None and self.regulariser_trains.get("generator"):
                objective = objective + self.regulariser_trains["generator"] * self.reconstruction_penalty(x, z)
            if self.code_consistency:
                objective = objective + self.code_consistency * self.code_error(z, k)
            if self.mode_seeking:
                objective = objective + self.mode_seeking * self.sameness(z)
            if self.feature_matching:
                objective = objective + self.feature_matching * self.feature_gap(x, z)
            return objective

        out.update(critic_objective=critic_objective, generator_objective=generator_objective)
        return out

    def reconstruction_penalty(self, x: torch.Tensor, z: torch.Tensor, views: torch.Tensor | None = None) -> torch.Tensor:
        """R: every element of each set x [B, K, C, H, W] against its code's G(0|z), z [B, Z].

        With `regulariser_noise` s > 0 each element is compared with its own draw G(s·ε|z)
        instead: s = 1 asks every stochastic reconstruction, not only the noise-free one, to
        stay near the input. With `regulariser_match` m > 0, a share m of R compares the set
        with K·`match_draws` draws matched to it (`matched_penalty`); with `regulariser_views` v > 0, a share
        v compares each element with G(vᵢ|z), its reconstruction from its own inferred view
        vᵢ [B, K, N] (`encode_views`; read here from x where not given).
        """
        k = x.shape[1]
        if self.regulariser_noise:
            return self.regulariser(x.flatten(0, 1), self.generate(z, k, noise_scale=self.regulariser_noise))
        m, v = self.regulariser_match, self.regulariser_views
        penalty = x.new_zeros(())
        if m + v < 1.0:
            mean_image = rearrange(self.decode_mean(z), "b c h w -> b 1 c h w")
            penalty = (1 - m - v) * self.regulariser(x.flatten(0, 1), repeat(mean_image, "b 1 c h w -> (b k) c h w", k=k))
        if m:
            penalty = penalty + m * self.matched_penalty(x, z)
        if v:
            views = self.encode_views(x)[1] if views is None else views
            own = self.generate(z, k, noise=rearrange(views, "b k n -> (b k) n"))
            penalty = penalty + v * self.regulariser(x.flatten(0, 1), own)
        return penalty

    def encode_views(self, x: torch.Tensor) -> tuple[Posterior, torch.Tensor | None]:
        """Sets x [B, K, C, H, W] -> (posterior over the set code [B, Z], each element's view [B, K, N] or None),
        from one pass of the encoder: the view is the z' that redraws that very element (models/views.py)."""
        if self.views is None:
            return self.encode(x), None
        features = self.element_features(x)
        return self.code(features), self.views(features)

    def training_encoding(self, x: torch.Tensor) -> tuple[torch.Tensor, Posterior, torch.Tensor | None]:
        """What a critic step reads off sets x [B, K, C, H, W], from one pass of the encoder: each element's
        features [B, K, F], the posterior over the code it conditions on [B, Z] (`training_code`), and each
        element's view [B, K, N] (or None), read off the whole set."""
        features = self.element_features(x)
        return features, self.training_code(features), (self.views(features) if self.views is not None else None)

    def one_view_gap(self, features: torch.Tensor) -> torch.Tensor:
        """Mean over elements of ‖E(xᵢ) − E(x)‖²: each element's code read alone against its whole set's, from
        their features [B, K, F]; the set's code is the fixed target.

        A reconstruction and each step of a chain read the code off one image; this asks that code for the one
        its set's eight views give, where the generator was trained to draw the object.
        """
        k = features.shape[1]
        whole = repeat(self.code(features).mean.detach(), "b z -> (b k) z", k=k)
        alone = self.code(rearrange(features, "b k f -> (b k) 1 f")).mean
        return (alone - whole).pow(2).sum(1).mean()

    def training_code(self, features: torch.Tensor) -> Posterior:
        """The code a training step conditions on, from each element's features [B, K, F]: the whole set's, or,
        in a share `subset_codes` of steps, that of m of each set's elements, m uniform in 1 … K − 1 (the same
        m elements of every set, at random).

        Sampling reads codes off fewer views than training's K: one image for a reconstruction or a chain's step,
        a few for set completion. Asked to redraw the whole set from part of it, the code learns to carry the
        object from one view as it does from eight (the context subsets of neural processes).
        """
        k = features.shape[1]
        if not self.subset_codes or k == 1 or float(torch.rand(())) >= self.subset_codes:
            return self.code(features)
        return self.code(features[:, torch.randperm(k)[:int(torch.randint(1, k, ()))]])

    def fake_terms(self, z: torch.Tensor, fakes: torch.Tensor, k: int) -> dict[str, torch.Tensor]:
        """The critic phase's terms on its own fakes [B * k, C, H, W] of codes z [B, Z]: `sleep`, where set."""
        return {"sleep": self.sleep * self.sleep_error(z, fakes, k)} if self.sleep else {}

    def sleep_error(self, z: torch.Tensor, fakes: torch.Tensor, k: int) -> torch.Tensor:
        """Mean ‖E(G(z'|z)) − z‖² over draws fakes [B * k, C, H, W] of codes z [B, Z], each draw read alone (a set
        of one), with draws and codes fixed: only the encoder learns from it.

        The sleep phase of wake-sleep (Hinton et al., 1995): the recognition model learns on the generative model's
        own dreams. A chain x → E(x) → G(z'|E(x)) → … stays on its object only where the encoder reads a drawn
        image back to the code that drew it, and R teaches it to read real images only.
        """
        return self.code_gap(rearrange(fakes.detach(), "n c h w -> n 1 c h w"),
                             repeat(z.detach(), "b z -> (b k) z", k=k))

    def view_divergence(self, views: torch.Tensor) -> torch.Tensor:
        """β·MMD² between the views [B, K, N] and N(0, I): where the draws' z' come from."""
        return self.beta * self.views.divergence(views)

    def matched_penalty(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """R between a set x [B, K, C, H, W] and K·`match_draws` draws G(z'|z) of its code, paired by `matching`
        (models/matching.py: nearest both ways, one to one, or covering)."""
        n_draws = x.shape[1] * self.match_draws
        draws = rearrange(self.generate(z, n_draws), "(b n) c h w -> b n c h w", n=n_draws)
        return matched_distance(self.regulariser, x, draws, self.matching)

    def critic_code(self, z: torch.Tensor) -> torch.Tensor:
        # Without this path the encoder is not part of the critic: it learns from the divergence and R alone.
        return z if self.encoder_through_critic else z.detach()

    def fakes(self, z: torch.Tensor, k: int) -> torch.Tensor:
        # Without this path the encoder is trained by D's projection, the divergence and R only,
        # not pushed to codes where the generator does badly.
        return self.generate(z if self.encoder_through_generator else z.detach(), k)

    def generator_terms(self, batch: Batch, z: torch.Tensor) -> dict[str, torch.Tensor]:
        x, out = as_set(batch["x"]), {}
        if self.regulariser is not None and self.regulariser_trains.get("generator"):
            out["regulariser"] = self.regulariser_trains["generator"] * self.reconstruction_penalty(x, z)
        if self.code_consistency:
            out["code_consistency"] = self.code_consistency * self.code_error(z, x.shape[1])
        if self.mode_seeking:
            out["mode_seeking"] = self.mode_seeking * self.sameness(z)
        if self.feature_matching:
            out["feature_matching"] = self.feature_matching * self.feature_gap(x, z)
        return out

    @property
    def has_generator_terms(self) -> bool:
        return (bool(self.regulariser is not None and self.regulariser_trains.get("generator"))
                or bool(self.code_consistency) or bool(self.mode_seeking) or bool(self.feature_matching))

    # -- capabilities ----------------------------------------------------------------------------
    def decode_mean(self, z: torch.Tensor) -> torch.Tensor:
        """G(0|z): the image for the noise-free z' = 0, [B, Z] -> [B, C, H, W]."""
        return self.generator(z, z.new_zeros(z.shape[0], self.noise_dim))

    def draw(self, posterior, k):
        """k images per code of a posterior over z [B, Z] -> [B * k, C, H, W], each with its own z' (drawn from
        `noise_prior` where it is fitted to the views, given the code where it is conditional)."""
        z = posterior.sample()
        if self.views is None or not fits(self.views.noise_prior):
            return self.generate(z, k)
        return self.generate(z, k, noise=self.views.sample(repeat(z, "b z -> (b k) z", k=k)).to(z.dtype))


@MODELS.register("set_hbae")
class SetHBAE(HBAE):
    """Set-HBAE (Eq. 8): the HBAE fed sets [B, K, C, H, W]; one pooled code per set.

    The critic's real term averages D over the set's elements, the generator draws K
    elements from one code with different z', and the regulariser maps the code to
    every element. The set size may differ between training and sampling.
    """

    display_name = "Set-HBAE"
