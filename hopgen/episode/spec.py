"""The typed plan of an episode and its samples (pure): what hopgen.episode.plan draws and every
later stage reads. ``to_dict`` gives the JSON form of the plan file (`hopgen plan --out`, the farm
path), ``from_dict`` reads it back and names any unknown, missing or mistyped field."""
from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import List, Optional


class SpecError(ValueError):
    """A plan dict that does not match the spec (the message names the field)."""


class _Spec:
    """to_dict / from_dict for the spec dataclasses (nested specs and lists of specs)."""

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data, where=None):
        where = where or cls.__name__
        if not isinstance(data, dict):
            raise SpecError(f"{where}: expected a mapping, got {type(data).__name__}")
        hints = typing.get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise SpecError(f"{where}: unknown field {unknown[0]!r} (known: {', '.join(fields)})")
        values = {}
        for name, f in fields.items():
            if name not in data:
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    raise SpecError(f"{where}: missing field {name!r}")
                continue
            values[name] = _read(hints[name], data[name], f"{where}.{name}")
        return cls(**values)


def _read(hint, value, where):
    origin = typing.get_origin(hint)
    if isinstance(hint, type) and issubclass(hint, _Spec):
        return hint.from_dict(value, where)
    if origin in (list, List):
        (item,) = typing.get_args(hint)
        if not isinstance(value, list):
            raise SpecError(f"{where}: expected a list, got {type(value).__name__}")
        return [_read(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is typing.Union:  # Optional[X]
        if value is None:
            return None
        (inner,) = [a for a in typing.get_args(hint) if a is not type(None)]
        return _read(inner, value, where)
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if isinstance(hint, type) and not isinstance(value, hint):
        raise SpecError(f"{where}: expected {hint.__name__}, got {type(value).__name__} {value!r}")
    return value


@dataclass
class CameraChoice(_Spec):
    """Planned viewpoint; the camera is placed around the hand at build time (episode.scene.place_camera)."""
    rig: str             # third_person | egocentric
    distance: float      # metres from the hand centre
    azimuth: float       # radians
    elevation: float     # radians
    roll: float          # radians
    focal_mm: float
    jitter: List[float]  # (2,) principal-point shift, fraction of the image size
    hand_share: Optional[float] = None  # the hand box's longer side, fraction of the image (None: fit only)
    foreground_occluder: bool = False   # a distractor may stand between the lens and the hand


@dataclass
class CameraEffects(_Spec):
    """What the camera does to the picture (hopgen.episode.effects); recorded in the annotation.
    Labels and masks come from the sharp, exact annotation pass and are never affected."""
    fstop: float                 # depth of field: physical aperture (full-frame equivalent), focus on the hand
    exposure_ev: float           # exposure error, stops
    white_balance: List[float]   # (3,) RGB gains of a white-balance error (green 1)
    vignette: float              # relative light loss at the image corners
    chromatic_px: float          # lateral chromatic aberration: red/blue shift at the corners, px
    noise_read: float            # sensor read noise, std in linear 0..1 units
    noise_shot: float            # shot noise: variance per unit linear signal
    jpeg_quality: int            # JPEG-like 8x8 DCT quantisation quality (1..100)
    seed: List[int]              # noise generator seed
    exposure_s: float = 0.0      # motion blur: shutter time over the grasp animation (0: none; hopgen.episode.motion)


@dataclass
class SampleSpec(_Spec):
    """One sample: a frame of the episode seen from one camera."""
    index: int
    frame: int
    seed: List[int]      # [dataset seed, index]: recorded in the annotation
    camera: CameraChoice
    effects: Optional[CameraEffects] = None  # None: a perfect camera (camera.effects false)


@dataclass
class Lamp(_Spec):
    """A point lamp around the hand."""
    azimuth: float
    elevation: float
    distance: float
    power_w: float
    colour_temperature_k: Optional[float] = None  # None: white


@dataclass
class HdriChoice(_Spec):
    use: bool            # the HDRI lights the scene (always, for an HDRI background)
    index: int           # into the sorted studio HDRIs (modulo their number)
    rotation: float      # radians about z
    strength: float


@dataclass
class BackgroundChoice(_Spec):
    kind: str            # hdri | backdrop | photo
    seed: int            # backdrop and distractor draws (episode.appearance)
    photo: Optional[str] = None  # the backplate file of a photo background
    fallback_from: Optional[str] = None  # "photo" when no photo folder was given (kind is then hdri)


@dataclass
class EpisodeSpec(_Spec):
    """Everything an episode's samples share, and the samples."""
    episode: int
    split: str           # test | trainval
    avatar: str          # manifest avatar name
    avatar_kind: str     # procedural | makehuman | rigged
    side: str            # left | right
    object: str          # manifest object name
    category: str
    object_seed: int
    grasp_seed: int
    appearance_seed: int
    sleeve: bool
    lights: List[Lamp] = field(default_factory=list)
    hdri: HdriChoice = None
    background: BackgroundChoice = None
    distractors: int = 0
    samples: List[SampleSpec] = field(default_factory=list)

    def sample_frames(self):
        """Sorted animation frames that the samples show."""
        return sorted({s.frame for s in self.samples})
