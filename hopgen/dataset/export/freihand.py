"""FreiHAND export (Zimmermann et al., ICCV 2019: the layout of FreiHAND_pub_v2 and its fh_utils.py).

    OUT/<set>_xyz.json   [N][21][3] metres, camera frame, native joint order (FreiHAND's own)
    OUT/<set>_K.json     [N][3][3] intrinsics; uv = K xyz (divided by z)
    OUT/<set>/rgb/%08d.jpg, OUT/<set>/mask/%08d.jpg   (JPEG, as FreiHAND ships them; mask = visible hand)
    OUT/<set>_hopgen.json  [N] {id, side, mirrored, category, grasp}: hopgen's extras (not a FreiHAND file)

<set> is "training" for split train and "evaluation" for val and test. FreiHAND has right hands
only, so left hands are mirrored (image columns flipped, x -> -x, cx -> W - 1 - cx) and marked
`mirrored`. FreiHAND's *_mano.json (MANO fits) and *_verts.json are not written: hopgen has no
MANO parameters, and fh_utils.load_db_annotation, which insists on *_mano.json, will not load the
export; read the two JSON lists and the images directly (the trainer's FreiHAND reader does).
"""

import json

import numpy as np

from hopgen.core.skeleton import HAND_LABELS
from hopgen.dataset.export.samples import encode_jpeg_bytes, finite

FH_SET = {"train": "training", "val": "evaluation", "test": "evaluation"}


def entries(split):
    s = FH_SET[split]
    return [s, f"{s}_hopgen.json", f"{s}_K.json", f"{s}_xyz.json"]  # xyz last: readers look for it


def mirrored(K, xyz, width):
    """K and xyz of the horizontally mirrored image (columns u -> W - 1 - u)."""
    K = np.array(K, np.float64)
    K[0, 2] = (width - 1) - K[0, 2]
    K[0, 1] = -K[0, 1]
    return K, np.asarray(xyz, np.float64) * [-1.0, 1.0, 1.0]


def write(stage, split, samples, ds, **_):
    s = FH_SET[split]
    xyz_list, K_list, extras = [], [], []
    for n, sample in enumerate(samples):
        where = f"sample {sample.sid}"
        K, xyz = finite(sample.K, f"{where}: camera.K"), finite(sample.xyz, f"{where}: hand.xyz")
        rgb, mask = sample.rgb, np.isin(sample.seg, HAND_LABELS)
        flip = sample.side == "left"
        if flip:
            K, xyz = mirrored(K, xyz, sample.size[0])
            rgb, mask = rgb[:, ::-1], mask[:, ::-1]
        stage.write(f"{s}/rgb/{n:08d}.jpg", encode_jpeg_bytes(rgb))
        stage.write(f"{s}/mask/{n:08d}.jpg", encode_jpeg_bytes(mask.astype(np.uint8) * 255))
        xyz_list.append(xyz.round(7).tolist())
        K_list.append(K.tolist())
        obj, grasp = sample.anno.get("object", {}), sample.anno.get("grasp", {})
        extras.append({"id": sample.sid, "side": sample.side, "mirrored": flip, "category": obj.get("category"),
                       "category_id": obj.get("category_id"), "grasp_type": grasp.get("type")})
    for name, doc in ((f"{s}_hopgen.json", extras), (f"{s}_K.json", K_list), (f"{s}_xyz.json", xyz_list)):
        stage.write(name, json.dumps(doc, allow_nan=False).encode())
    return {"samples": len(xyz_list), "skipped": [], "set": s}
