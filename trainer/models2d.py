"""Stage 2D networks: ours (q_h, p_h, p_j), ours without variational, and HandSegNet + PoseNet.

All take a crop `image` (B, 3, C, C) and return a dict:
    mask_logits (B, 1, C, C)             hand mask (amodal for ours; one logit = class 1 - class 0 for HandSegNet)
    heatmaps    [(B, 21, C/8, C/8), ...] one per PoseNet stage / Hourglass stack (last = prediction)
    mu, logvar  (B, latent)              the variational posterior (ours only)
`model.segment(image)` returns only mask_logits (the first pass of the full-image pipeline).

Widths follow PAPER.md, scaled by model.width (ch(64) = round(64 * width), at least 4).
Blocks: 3x3 "same" convs + leaky ReLU 0.01, 2x2 max-pooling (hand3d).
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

NUM_JOINTS = 21


def _ch(n, width):
    return max(4, int(round(n * width)))


def _act():
    return nn.LeakyReLU(0.01, inplace=True)


def vgg_trunk(cin, plan, width):
    """Convs and pools from a plan like [64, 64, "P", 128, ...]; returns (Sequential, out channels)."""
    layers = []
    for item in plan:
        if item == "P":
            layers.append(nn.MaxPool2d(2))
        else:
            k, n = item if isinstance(item, tuple) else (3, item)
            c = _ch(n, width)
            layers += [nn.Conv2d(cin, c, k, padding=k // 2), _act()]
            cin = c
    return nn.Sequential(*layers), cin


# hand3d trunks (PAPER.md)
HANDSEG_PLAN = [64, 64, "P", 128, 128, "P", 256, 256, 256, 256, "P", 512, 512, 512, 512, 512, 128]
POSENET_PLAN = [64, 64, "P", 128, 128, "P", 256, 256, 256, 256, "P", 512, 512, 256, 256, 256, 256, 128]


class PoseNet(nn.Module):
    """CPM-style PoseNet: encoding at C/8, stage 1 (1x1 512, 1x1 21), then refinement stages
    concat(previous maps, encoding) -> 5 x 7x7 conv 128 -> 1x1 128 -> 1x1 21."""

    def __init__(self, cin=3, width=1.0, stages=3):
        super().__init__()
        self.encoder, enc = vgg_trunk(cin, POSENET_PLAN, width)
        self.stage1 = nn.Sequential(nn.Conv2d(enc, _ch(512, width), 1), _act(), nn.Conv2d(_ch(512, width), NUM_JOINTS, 1))
        self.refine = nn.ModuleList()
        for _ in range(stages - 1):
            c = _ch(128, width)
            layers, cin_r = [], enc + NUM_JOINTS
            for _ in range(5):
                layers += [nn.Conv2d(cin_r, c, 7, padding=3), _act()]
                cin_r = c
            layers += [nn.Conv2d(c, c, 1), _act(), nn.Conv2d(c, NUM_JOINTS, 1)]
            self.refine.append(nn.Sequential(*layers))

    def forward(self, x):
        enc = self.encoder(x)
        maps = [self.stage1(enc)]
        for stage in self.refine:
            maps.append(stage(torch.cat([maps[-1], enc], 1)))
        return maps


class Residual(nn.Module):
    """Bottleneck residual block of the stacked Hourglass (BN, ReLU, 1x1 -> 3x3 -> 1x1)."""

    def __init__(self, cin, cout):
        super().__init__()
        mid = max(cout // 2, 2)
        self.body = nn.Sequential(
            nn.BatchNorm2d(cin), nn.ReLU(inplace=True), nn.Conv2d(cin, mid, 1),
            nn.BatchNorm2d(mid), nn.ReLU(inplace=True), nn.Conv2d(mid, mid, 3, padding=1),
            nn.BatchNorm2d(mid), nn.ReLU(inplace=True), nn.Conv2d(mid, cout, 1))
        self.skip = nn.Identity() if cin == cout else nn.Conv2d(cin, cout, 1)

    def forward(self, x):
        return self.body(x) + self.skip(x)


class Hourglass(nn.Module):
    def __init__(self, depth, c):
        super().__init__()
        self.up1 = Residual(c, c)
        self.low1 = Residual(c, c)
        self.low2 = Hourglass(depth - 1, c) if depth > 1 else Residual(c, c)
        self.low3 = Residual(c, c)

    def forward(self, x):
        low = self.low3(self.low2(self.low1(F.max_pool2d(x, 2))))
        return self.up1(x) + F.interpolate(low, size=x.shape[-2:], mode="nearest")


class StackedHourglass(nn.Module):
    """Newell et al. stacked Hourglass; stem downsamples by 8 so the maps are C/8 like PoseNet."""

    def __init__(self, cin=3, width=1.0, stacks=2, depth=3):
        super().__init__()
        c = _ch(256, width)
        self.stem = nn.Sequential(
            nn.Conv2d(cin, _ch(64, width), 7, stride=2, padding=3), nn.BatchNorm2d(_ch(64, width)), nn.ReLU(inplace=True),
            Residual(_ch(64, width), _ch(128, width)), nn.MaxPool2d(2),
            Residual(_ch(128, width), _ch(128, width)), nn.MaxPool2d(2), Residual(_ch(128, width), c))
        self.hgs = nn.ModuleList([Hourglass(depth, c) for _ in range(stacks)])
        self.feats = nn.ModuleList([nn.Sequential(Residual(c, c), nn.Conv2d(c, c, 1), nn.BatchNorm2d(c), nn.ReLU(inplace=True))
                                    for _ in range(stacks)])
        self.heads = nn.ModuleList([nn.Conv2d(c, NUM_JOINTS, 1) for _ in range(stacks)])
        self.merge_f = nn.ModuleList([nn.Conv2d(c, c, 1) for _ in range(stacks - 1)])
        self.merge_h = nn.ModuleList([nn.Conv2d(NUM_JOINTS, c, 1) for _ in range(stacks - 1)])

    def forward(self, x):
        x = self.stem(x)
        maps = []
        for i, hg in enumerate(self.hgs):
            f = self.feats[i](hg(x))
            maps.append(self.heads[i](f))
            if i < len(self.hgs) - 1:
                x = x + self.merge_f[i](f) + self.merge_h[i](maps[-1])
        return maps


def make_pose_net(cfg, cin):
    m = cfg.model
    if m.pose_net == "posenet":
        return PoseNet(cin, m.width, m.stages)
    if m.pose_net == "hourglass":
        return StackedHourglass(cin, m.width, m.hg_stacks, m.hg_depth)
    raise ValueError(f"model.pose_net {m.pose_net!r}: expected posenet or hourglass")


class HandSegNet(nn.Module):
    """hand3d HandSegNet: VGG trunk to C/8, 1x1 512, 1x1 2 logits, bilinear resize to the input size."""

    def __init__(self, width=1.0):
        super().__init__()
        self.trunk, c = vgg_trunk(3, HANDSEG_PLAN, width)
        self.head = nn.Sequential(nn.Conv2d(c, _ch(512, width), 1), _act(), nn.Conv2d(_ch(512, width), 2, 1))

    def forward(self, x):
        logits = F.interpolate(self.head(self.trunk(x)), size=x.shape[-2:], mode="bilinear", align_corners=False)
        return logits[:, 1:2] - logits[:, 0:1]  # 2-class softmax == sigmoid of the logit difference


class HSPoseNet(nn.Module):
    """Baseline (Zimmermann & Brox): HandSegNet segments, PoseNet reads the crop (not masked, as hand3d)."""

    variational = False

    def __init__(self, cfg):
        super().__init__()
        self.seg = HandSegNet(cfg.model.width)
        self.pose = make_pose_net(cfg, 3)

    def segment(self, image):
        return self.seg(image)

    def forward(self, image, seg_image=None):
        """Heatmaps of the hand crop `image`; the mask of `seg_image` (HandSegNet's own training view:
        a random whole-image crop, data.seg_crop) when given, else of `image`."""
        return {"mask_logits": self.seg(image if seg_image is None else seg_image), "heatmaps": self.pose(image)}


class MaskEncoder(nn.Module):
    """q_h: HandSegNet trunk -> 4x4 average pool -> FC [256, 128, 128] (ReLU) -> mu, logvar
    (no logvar head when deterministic: forward returns (mu, None))."""

    def __init__(self, width, fc, latent, variational=True):
        super().__init__()
        self.trunk, c = vgg_trunk(3, HANDSEG_PLAN, width)
        layers, cin = [], c * 16
        for n in fc:
            layers += [nn.Linear(cin, n), nn.ReLU(inplace=True)]
            cin = n
        self.fc = nn.Sequential(*layers)
        self.mu = nn.Linear(cin, latent)
        self.logvar = nn.Linear(cin, latent) if variational else None

    def forward(self, x):
        h = self.fc(torch.flatten(F.adaptive_avg_pool2d(self.trunk(x), 4), 1))
        return self.mu(h), (self.logvar(h) if self.logvar is not None else None)


class MaskDecoder(nn.Module):
    """p_h: z -> FC -> (256w, C/32, C/32) -> 5 x (nearest x2, 3x3 conv, leaky) -> 1x1 -> mask logits (C x C)."""

    def __init__(self, width, latent, crop):
        super().__init__()
        if crop % 32:
            raise ValueError(f"data.crop {crop} must be a multiple of 32 for the mask decoder")
        self.base = crop // 32
        chans = [_ch(n, width) for n in (256, 128, 64, 32, 16, 16)]
        self.fc = nn.Sequential(nn.Linear(latent, chans[0] * self.base ** 2), _act())
        self.c0 = chans[0]
        ups = []
        for a, b in zip(chans[:-1], chans[1:]):
            ups += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(a, b, 3, padding=1), _act()]
        self.up = nn.Sequential(*ups, nn.Conv2d(chans[-1], 1, 1))

    def forward(self, z):
        return self.up(self.fc(z).reshape(z.shape[0], self.c0, self.base, self.base))


class Ours2D(nn.Module):
    """Variational 2D stage: z_h ~ q_h(X) (reparameterised), mask = p_h(z_h), heatmaps = p_j(X * sigmoid(mask), sigmoid(mask)).

    With variational=False ("ours without variational") z_h = mu and no KL is computed.
    In eval mode z_h = mu. `kl_step` counts training forward passes (drives the KL warm-up of
    losses2d; a buffer, so it is checkpointed and a resumed run continues the ramp).
    """

    def __init__(self, cfg, variational=True):
        super().__init__()
        m = cfg.model
        self.variational = variational
        self.enc = MaskEncoder(m.width, m.fc, m.latent, variational)
        self.dec = MaskDecoder(m.width, m.latent, cfg.data.crop)
        self.pose = make_pose_net(cfg, 4)
        self.register_buffer("kl_step", torch.zeros((), dtype=torch.long))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        state_dict.setdefault(prefix + "kl_step", self.kl_step.clone())  # checkpoints from before the warm-up
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def encode(self, image):
        mu, logvar = self.enc(image)
        if self.variational and self.training:
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        else:
            z = mu
        return z, mu, logvar

    def segment(self, image):
        return self.dec(self.encode(image)[0])

    def forward(self, image, seg_image=None):
        if seg_image is not None:
            raise ValueError("Ours2D segments the hand crop it reads (data.seg_crop is for hs_posenet only)")
        if self.training:
            self.kl_step += 1
        z, mu, logvar = self.encode(image)
        mask_logits = self.dec(z)
        m = torch.sigmoid(mask_logits)
        out = {"mask_logits": mask_logits, "heatmaps": self.pose(torch.cat([image * m, m], 1))}
        if self.variational:
            out.update(mu=mu, logvar=logvar)
        return out


KINDS = ("ours", "ours_novar", "hs_posenet")


def kaiming_init(module):
    """He-normal weights (fan-in, leaky ReLU slope 0.01) and zero biases for every conv / linear layer."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, a=0.01, nonlinearity="leaky_relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return module


def build_model_2d(cfg):
    """The 2D network named by cfg.model.kind, initialised as cfg.model.init says."""
    kind, init = cfg.model.kind, cfg.model.init
    if init not in ("default", "kaiming"):
        raise ValueError(f"config key 'model.init': {init!r}; expected default or kaiming")
    if kind == "ours":
        model = Ours2D(cfg, variational=True)
    elif kind == "ours_novar":
        model = Ours2D(cfg, variational=False)
    elif kind == "hs_posenet":
        model = HSPoseNet(cfg)
    else:
        raise ValueError(f"model.kind {kind!r} is not a 2D model; expected one of {KINDS}")
    return kaiming_init(model) if init == "kaiming" else model


def _evaluate_2d(*args, **kwargs):
    from trainer.evaluate import evaluate_2d  # lazy: evaluate imports matplotlib
    return evaluate_2d(*args, **kwargs)


def _stage():
    from trainer.losses2d import loss_2d
    from trainer.stages import Stage
    return Stage(name="2d", build_model=build_model_2d, loss=loss_2d, evaluate=_evaluate_2d)


STAGE = _stage()
