"""3D lifting networks: heatmaps (B, 21, 32, 32) + hand side -> canonical pose and viewpoint.

- PosePrior / ViewPoint: the Zimmermann & Brox baseline (PAPER.md), leaky ReLU 0.01, 3x3 convs.
- PoseEncoder (q_j) / PoseDecoder (p_p): the paper's variational lifting; q_j is PosePrior's conv
  trunk + hand side -> PosePrior's first FC (512) -> FC [256, 128, 128] (the paper's text, Sec. III;
  leaky ReLU instead of its ReLU, see PoseEncoder) -> (mu, logvar) of z_j (256 in the paper); p_p maps z_j to the canonical pose
  (the paper gives no sizes; PosePrior's head: FC 512, 512, linear 63). The viewpoint branch is
  ViewPoint (the paper adopts it unchanged).
- Lifter: the three variants behind one interface ("poseprior", "variational", "deterministic").
- ClusterCentres: the learnable cluster centres of eq. 6 (seeded from data, dead ones re-seeded).
- LiftModel: the 3D stage's whole model (Lifter + centres + the optional 2D network) with its
  running training statistics (trainer.stage3d trains it).

Conventions: joints in the HOP native order (targets come from hopgen.hand.canonical, native order);
hand side one-hot (B, 2) with [1, 0] = left, [0, 1] = right; rotations act on row vectors:
relative = (canonical mirrored back if right) @ R, as hopgen.hand.canonical.relative_pose_from_canonical.
`width` scales every conv/FC channel count (1.0 = the paper's sizes), so tests use tiny nets.
"""

from dataclasses import dataclass

import torch
from torch import nn
import torch.nn.functional as F

from hopgen.hand.canonical import canonicalize
from hopgen.core.skeleton import NUM_JOINTS
from trainer.losses3d import far_point, kmeans_pp, nearest_cluster

VARIANTS = ("poseprior", "variational", "deterministic")


@dataclass
class LifterConfig:
    """Sizes of the lifting networks. `width` multiplies all conv and FC widths (not latent_dim)."""
    variant: str = "variational"      # one of VARIANTS
    width: float = 1.0
    latent_dim: int = 256
    encoder_fc: tuple = (256, 128, 128)  # q_j's FC layers after PosePrior's first FC, scaled by width
    logvar_init: float = -5.0         # initial bias of q_j's log-variance head (sigma ~ 0.08, see PoseEncoder)
    heatmap_size: int = 32
    num_joints: int = NUM_JOINTS
    pose_dropout: float = 0.2         # PosePrior FC dropout (hand3d keep 0.8)
    view_dropout: float = 0.25        # ViewPoint FC dropout (hand3d keep 0.75)

    def __post_init__(self):
        if self.variant not in VARIANTS:
            raise ValueError(f"LifterConfig.variant: expected one of {VARIANTS}, got {self.variant!r}")
        if not self.width > 0 or self.latent_dim < 1 or self.heatmap_size < 1:
            raise ValueError(f"LifterConfig: width, latent_dim and heatmap_size must be positive, got {self}")

    def ch(self, n):
        """A paper channel count scaled by `width` (at least 1)."""
        return max(1, int(round(n * self.width)))


def hand_side_onehot(sides, device=None):
    """(B, 2) float one-hot hand side ([1, 0] = left) from strings, bools/ints (True/1 = right) or a tensor."""
    if isinstance(sides, torch.Tensor):
        right = sides.to(torch.long)
    else:
        sides = list(sides)
        if any(isinstance(s, str) for s in sides):
            bad = {s for s in sides if s not in ("left", "right")}
            if bad:
                raise ValueError(f"hand side: expected 'left' or 'right', got {sorted(map(str, bad))}")
            sides = [s == "right" for s in sides]
        right = torch.as_tensor([int(s) for s in sides], dtype=torch.long)
    if right.dim() != 1 or bool(((right < 0) | (right > 1)).any()):
        raise ValueError("hand side: expected a 1-D sequence of 0 (left) / 1 (right)")
    return F.one_hot(right, 2).to(device=device or right.device, dtype=torch.float32)


def _check_inputs(heatmaps, side, cfg):
    j, s = cfg.num_joints, cfg.heatmap_size
    if heatmaps.dim() != 4 or tuple(heatmaps.shape[1:]) != (j, s, s):
        raise ValueError(f"lifting input: heatmaps must be (B, {j}, {s}, {s}), got {tuple(heatmaps.shape)}")
    if tuple(side.shape) != (heatmaps.shape[0], 2):
        raise ValueError(f"lifting input: hand side must be one-hot (B, 2), got {tuple(side.shape)}")


def _conv_trunk(in_ch, channels):
    """Pairs of 3x3 convs (stride 1, then stride 2) with leaky ReLU, as PosePrior/ViewPoint."""
    layers, c = [], in_ch
    for out in channels:
        for stride in (1, 2):
            layers += [nn.Conv2d(c, out, 3, stride=stride, padding=1), nn.LeakyReLU(0.01)]
            c = out
    return nn.Sequential(*layers)


def _trunk_features(cfg, last_ch, n_stride2=3):
    side = cfg.heatmap_size
    for _ in range(n_stride2):
        side = (side + 1) // 2  # 3x3, stride 2, padding 1
    return last_ch * side * side


def _mlp(sizes, dropout):
    """FC layers with leaky ReLU and dropout after each (the hidden part of PosePrior/ViewPoint)."""
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.LeakyReLU(0.01), nn.Dropout(dropout)]
    return nn.Sequential(*layers)


class PosePrior(nn.Module):
    """Baseline canonical-pose regressor: convs 32, 32s2, 64, 64s2, 128, 128s2 + side, FC 512, 512, 63."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        chans = [cfg.ch(32), cfg.ch(64), cfg.ch(128)]
        self.trunk = _conv_trunk(cfg.num_joints, chans)
        hidden = cfg.ch(512)
        self.fc = _mlp([_trunk_features(cfg, chans[-1]) + 2, hidden, hidden], cfg.pose_dropout)
        self.out = nn.Linear(hidden, cfg.num_joints * 3)

    def forward(self, heatmaps, side):
        """(B, J, S, S), (B, 2) -> canonical (B, J, 3)."""
        _check_inputs(heatmaps, side, self.cfg)
        x = torch.cat([self.trunk(heatmaps).flatten(1), side], dim=1)
        return self.out(self.fc(x)).view(-1, self.cfg.num_joints, 3)


class ViewPoint(nn.Module):
    """Baseline viewpoint regressor: convs 64, 64s2, 128, 128s2, 256, 256s2 + side, FC 256, 128,
    heads u_x, u_y, u_z (one linear layer of 3 outputs) -> R = Rodrigues(u)."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        chans = [cfg.ch(64), cfg.ch(128), cfg.ch(256)]
        self.trunk = _conv_trunk(cfg.num_joints, chans)
        self.fc = _mlp([_trunk_features(cfg, chans[-1]) + 2, cfg.ch(256), cfg.ch(128)], cfg.view_dropout)
        self.axis_angle = nn.Linear(cfg.ch(128), 3)

    def forward(self, heatmaps, side):
        """(B, J, S, S), (B, 2) -> (rotation (B, 3, 3), axis-angle u (B, 3))."""
        _check_inputs(heatmaps, side, self.cfg)
        x = torch.cat([self.trunk(heatmaps).flatten(1), side], dim=1)
        u = self.axis_angle(self.fc(x))
        return rodrigues(u), u


class PoseEncoder(nn.Module):
    """q_j: heatmaps + side -> (mu, logvar) of z_j. PosePrior's conv trunk and first FC (512, leaky
    ReLU), then FC layers cfg.encoder_fc ([256, 128, 128] in the paper) with leaky ReLU, then two linear
    heads of latent_dim (256 in the paper). With variational=False there is no logvar head and
    forward returns (mu, None)."""

    def __init__(self, cfg, variational=True):
        super().__init__()
        self.cfg = cfg
        chans = [cfg.ch(32), cfg.ch(64), cfg.ch(128)]
        self.trunk = _conv_trunk(cfg.num_joints, chans)
        first = cfg.ch(512)
        layers = [nn.Linear(_trunk_features(cfg, chans[-1]) + 2, first), nn.LeakyReLU(0.01)]
        c = first
        for n in cfg.encoder_fc:
            # Leaky (0.01, as every hand3d layer) where the paper's text says ReLU. Not a measured gain: on
            # hop_cpu both sat on the same mean-pose plateau for ~600 steps (pose loss 4.0 at step 750-800
            # with either); the CPU Table III runs used leaky, so it stays for reproducibility.
            layers += [nn.Linear(c, cfg.ch(n)), nn.LeakyReLU(0.01)]
            c = cfg.ch(n)
        self.fc = nn.Sequential(*layers)
        self.mu = nn.Linear(c, cfg.latent_dim)
        self.logvar = nn.Linear(c, cfg.latent_dim) if variational else None
        if self.logvar is not None:
            # Start with a narrow posterior: with sigma = 1 at initialisation the samples z are pure noise next to
            # the small initial means and p_p learns the mean pose (on hop_cpu the sigma-1 triplet run reached
            # val AUC 0.229 after 1000 steps, the sigma-0.08 one 0.330, PosePrior 0.330; that pair also differs
            # in ReLU vs leaky ReLU, see above); the (warmed-up) KL then widens the posterior where it can.
            nn.init.constant_(self.logvar.bias, cfg.logvar_init)

    def forward(self, heatmaps, side):
        _check_inputs(heatmaps, side, self.cfg)
        h = self.fc(torch.cat([self.trunk(heatmaps).flatten(1), side], dim=1))
        if self.logvar is None:
            return self.mu(h), None
        # Clamp keeps exp(logvar) finite early in training; +-10 is far beyond useful variances.
        return self.mu(h), self.logvar(h).clamp(-10.0, 10.0)


class PoseDecoder(nn.Module):
    """p_p: z_j (B, latent_dim) -> canonical pose (B, J, 3); FC 512, 512 (leaky ReLU), linear 3J."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        hidden = cfg.ch(512)
        self.fc = _mlp([cfg.latent_dim, hidden, hidden], 0.0)
        self.out = nn.Linear(hidden, cfg.num_joints * 3)

    def forward(self, z):
        return self.out(self.fc(z)).view(-1, self.cfg.num_joints, 3)


def rodrigues(u):
    """Rotation matrices (B, 3, 3) from axis-angle vectors u (B, 3), angle |u|.

    Equals hopgen.core.camera.rotation_matrix(u / |u|, |u|) (R = I + sin(t)/t K + (1 - cos t)/t^2 K^2,
    K = [u]x); finite with finite gradients at u = 0 (Taylor series below t = 1e-3).
    """
    t2 = (u * u).sum(-1, keepdim=True)[..., None]                 # (B, 1, 1)
    small = t2 < 1e-6
    t = torch.sqrt(torch.where(small, torch.ones_like(t2), t2))   # safe sqrt: no NaN gradient at 0
    a = torch.where(small, 1 - t2 / 6 + t2 * t2 / 120, torch.sin(t) / t)
    b = torch.where(small, 0.5 - t2 / 24 + t2 * t2 / 720, (1 - torch.cos(t)) / (t * t))
    zero = torch.zeros_like(u[..., 0])
    k = torch.stack([zero, -u[..., 2], u[..., 1],
                     u[..., 2], zero, -u[..., 0],
                     -u[..., 1], u[..., 0], zero], dim=-1).view(*u.shape[:-1], 3, 3)
    eye = torch.eye(3, dtype=u.dtype, device=u.device).expand_as(k)
    return eye + a * k + b * (k @ k)


def mirror_right(pose, side):
    """Mirror z of (B, J, 3) poses whose one-hot side (B, 2) says right (its own inverse)."""
    sign = 1.0 - 2.0 * side[:, 1:2]                               # (B, 1): +1 left, -1 right
    return torch.cat([pose[..., :2], pose[..., 2:] * sign[:, :, None]], dim=-1)


def relative_pose(canonical, rotation, side):
    """(canonical mirrored back if right) @ R: the root-relative, bone-normalised pose (B, J, 3)."""
    return mirror_right(canonical, side) @ rotation


def lifting_targets(xyz, side, root="wrist"):
    """Canonical-frame targets of a batch, via hopgen.hand.canonical (float64 maths, float32 out).

    xyz: (B, J, 3) tensor (camera frame, metres, native order); side: (B,) 0 left / 1 right, or
    one-hot (B, 2). Returns dict(canonical (B, J, 3), rotation (B, 3, 3), scale (B,) metres,
    root (B, 3) metres) on xyz's device; the metric pose is relative_pose(...) * scale + root.
    """
    side = torch.as_tensor(side)
    right = (side[:, 1] > 0.5) if side.dim() == 2 else side.to(torch.bool)
    can, rot, scale, root_xyz = canonicalize(xyz.detach().cpu().double().numpy(), right.cpu().numpy(), root)
    f = lambda a: torch.as_tensor(a, dtype=torch.float32, device=xyz.device)
    return dict(canonical=f(can), rotation=f(rot), scale=f(scale), root=f(root_xyz))


def camera_roll(A):
    """(B, 3, 3) rotation about the optical axis matching the in-plane rotation of crop affines A (B, 3, 3):
    the crop's view of the hand is xyz @ camera_roll(A).T (3D targets follow in-plane crop rotations)."""
    M = A[:, :2, :2].double()
    s = torch.sqrt(torch.det(M).abs()).clamp_min(1e-12)
    R = torch.eye(3, dtype=torch.float64, device=A.device).repeat(A.shape[0], 1, 1)
    R[:, :2, :2] = M / s[:, None, None]
    return R.to(A.dtype)


def reparameterize(mu, logvar, generator=None):
    """z = mu + eps * exp(logvar / 2), eps ~ N(0, 1) (drawn from `generator` if given)."""
    eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)
    return mu + eps * torch.exp(0.5 * logvar)


class Lifter(nn.Module):
    """Heatmaps + hand side -> dict(canonical (B,J,3), rotation (B,3,3), relative (B,J,3),
    z (B,D) | None, mu (B,D) | None, logvar (B,D) | None, axis_angle (B,3)).

    variant "poseprior": PosePrior + ViewPoint, no latent (z, mu, logvar are None).
    variant "variational": z = mu + sigma * eps in training mode, z = mu in eval mode.
    variant "deterministic" ("ours without variational"): z = mu, logvar None (no KL term).
    """

    def __init__(self, cfg=None):
        super().__init__()
        self.cfg = cfg or LifterConfig()
        if self.cfg.variant == "poseprior":
            self.pose_prior = PosePrior(self.cfg)
        else:
            self.encoder = PoseEncoder(self.cfg, variational=self.cfg.variant == "variational")
            self.decoder = PoseDecoder(self.cfg)
        self.viewpoint = ViewPoint(self.cfg)

    def forward(self, heatmaps, side, generator=None):
        """heatmaps (B, J, S, S) float, side (B, 2) one-hot; generator: torch.Generator for eps."""
        z = mu = logvar = None
        if self.cfg.variant == "poseprior":
            canonical = self.pose_prior(heatmaps, side)
        else:
            mu, logvar = self.encoder(heatmaps, side)
            # deterministic: logvar is None and z = mu
            z = reparameterize(mu, logvar, generator) if self.training and logvar is not None else mu
            canonical = self.decoder(z)
        rotation, u = self.viewpoint(heatmaps, side)
        return dict(canonical=canonical, rotation=rotation, relative=relative_pose(canonical, rotation, side),
                    z=z, mu=mu, logvar=logvar, axis_angle=u)


class ClusterCentres(nn.Module):
    """N learnable cluster centres (N, dim) of eq. 6, seeded from data.

    init "gaussian": N(0, std^2) at construction, as the paper's text (with the KL pulling every z to
    the origin, one such centre tends to win everything). init "kmeans++": the centres are not used
    (`ready` is False, the cluster loss is off) until `warmup` training steps have passed and the ring
    buffer of recent latent means holds at least `buffer` rows (or N, whichever is more, after
    warm-up); then they are seeded by k-means++ on that buffer. Either way, every `reseed_every` steps
    a centre whose running share of the assignments (EMA, momentum `ema`) is below dead_share / N is
    moved onto a buffered latent far from the others (the k-means++ draw). All state is in buffers, so
    it travels with the checkpoint and a resumed run continues exactly.
    """

    def __init__(self, n, dim, std=1.0, generator=None, init="kmeans++", buffer=1024, warmup=0,
                 reseed_every=0, dead_share=0.1, ema=0.99, seed=0):
        super().__init__()
        if n < 1 or dim < 1 or buffer < n:
            raise ValueError(f"ClusterCentres: need n >= 1, dim >= 1 and buffer >= n, got n={n} dim={dim} buffer={buffer}")
        if init not in ("kmeans++", "gaussian"):
            raise ValueError(f"ClusterCentres: init must be kmeans++ or gaussian, got {init!r}")
        self.init, self.warmup, self.reseed_every = init, int(warmup), int(reseed_every)
        self.dead_share, self.ema, self.seed = float(dead_share), float(ema), int(seed)
        self.centres = nn.Parameter(torch.randn(n, dim, generator=generator) * std)
        self.register_buffer("ready", torch.tensor(init == "gaussian"))
        self.register_buffer("share", torch.full((n,), 1.0 / n))          # running share of the assignments
        self.register_buffer("pool", torch.zeros(buffer, dim))             # ring buffer of latent means
        self.register_buffer("pool_seen", torch.zeros((), dtype=torch.long))
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))
        self.register_buffer("reseeded", torch.zeros((), dtype=torch.long))  # dead centres re-seeded so far

    def forward(self):
        return self.centres

    def _pool(self):
        return self.pool[: min(int(self.pool_seen), self.pool.shape[0])]

    @torch.no_grad()
    def observe(self, mu):
        """Book-keeping of one training step: mu (B, D) latent means (detached). Pushes them into the
        buffer, seeds the centres after the warm-up, updates the shares and re-seeds dead centres."""
        mu = mu.detach().float().to(self.pool.device)
        cap = self.pool.shape[0]
        at = (int(self.pool_seen) + torch.arange(mu.shape[0], device=mu.device)) % cap
        self.pool[at] = mu[-cap:] if mu.shape[0] > cap else mu
        self.pool_seen += mu.shape[0]
        self.steps += 1
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + int(self.steps))
        n = self.centres.shape[0]
        if not bool(self.ready):
            if int(self.steps) >= self.warmup and int(self.pool_seen) >= min(cap, max(n, 1)):
                self.centres.copy_(kmeans_pp(self._pool(), n, gen).to(self.centres))
                self.ready.fill_(True)
                self.share.fill_(1.0 / n)
            return
        hist = torch.bincount(nearest_cluster(mu, self.centres), minlength=n).float() / mu.shape[0]
        self.share.mul_(self.ema).add_((1.0 - self.ema) * hist)
        if self.reseed_every and int(self.steps) % self.reseed_every == 0:
            for k in (self.share < self.dead_share / n).nonzero(as_tuple=True)[0].tolist():
                live = torch.cat([self.centres[:k], self.centres[k + 1:]])
                self.centres[k] = far_point(self._pool(), live, gen).to(self.centres)
                self.share[k] = 1.0 / n
                self.reseeded += 1
