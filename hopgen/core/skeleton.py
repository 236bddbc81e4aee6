"""The 21-joint hand skeleton of the HOP contract (see docs/format.md).

Native joint order (FreiHAND/MediaPipe): 0 wrist; 1-4 thumb CMC, MCP, IP, tip;
5-8 index MCP, PIP, DIP, tip; 9-12 middle; 13-16 ring; 17-20 pinky.
Pure module: standard library only, importable inside Blender's Python.
"""

FINGER_NAMES = ("thumb", "index", "middle", "ring", "pinky")

JOINT_NAMES = (
    "wrist",
    "thumb_cmc", "thumb_mcp", "thumb_ip", "thumb_tip",
    "index_mcp", "index_pip", "index_dip", "index_tip",
    "middle_mcp", "middle_pip", "middle_dip", "middle_tip",
    "ring_mcp", "ring_pip", "ring_dip", "ring_tip",
    "pinky_mcp", "pinky_pip", "pinky_dip", "pinky_tip",
)
NUM_JOINTS = len(JOINT_NAMES)

# Parent of each joint in the kinematic tree (-1 for the root).
PARENTS = (-1, 0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11, 0, 13, 14, 15, 0, 17, 18, 19)

# Bones as (parent joint, child joint); 20 bones, bone b ends at joint b + 1.
BONES = tuple((PARENTS[j], j) for j in range(1, NUM_JOINTS))

# RHD order (Zimmermann & Brox) lists these native indices: rhd[k] = native[RHD_FROM_NATIVE[k]].
RHD_FROM_NATIVE = (0, 4, 3, 2, 1, 8, 7, 6, 5, 12, 11, 10, 9, 16, 15, 14, 13, 20, 19, 18, 17)
# Inverse permutation: native[j] = rhd[NATIVE_FROM_RHD[j]].
NATIVE_FROM_RHD = tuple(RHD_FROM_NATIVE.index(j) for j in range(NUM_JOINTS))


def finger_of_joint(j):
    """Finger index 0..4 of joint j, or -1 for the wrist."""
    return -1 if j == 0 else (j - 1) // 4


def segment_of_joint(j):
    """Position along the finger 0..3 (MCP/CMC, PIP/MCP, DIP/IP, tip), -1 for the wrist."""
    return -1 if j == 0 else (j - 1) % 4


# Visible segmentation labels (seg/ID.png).
SEG_BACKGROUND = 0
SEG_OBJECT = 1
SEG_ARM = 2
SEG_PALM = 3
NUM_SEG_LABELS = 4 + 15
# Surroundings (table, backdrop, distractor, accessory) in the annotation pass only: the seg PNG
# contract writes them as SEG_BACKGROUND (dataset.visibility.seg_for_file), but visibility must tell "hidden by the
# surroundings" (VIS_SURROUNDINGS) from "nothing there".
SEG_SURROUNDINGS = 255



def seg_phalanx(finger, segment):
    """Label of a phalanx: finger 0 thumb .. 4 pinky, segment 0 proximal .. 2 distal."""
    if not (0 <= finger < 5 and 0 <= segment < 3):
        raise ValueError(f"bad phalanx finger={finger} segment={segment}")
    return 4 + 3 * finger + segment


HAND_LABELS = tuple(range(SEG_PALM, NUM_SEG_LABELS))  # palm + 15 phalanges

# Labels of the hand parts that touch joint j (a joint is visible when one of them is seen there).
def labels_at_joint(j):
    if j == 0:
        return (SEG_PALM,)
    f, s = finger_of_joint(j), segment_of_joint(j)
    if s == 0:  # MCP / thumb CMC: palm and the proximal phalanx
        return (SEG_PALM, seg_phalanx(f, 0))
    if s == 3:  # tip: the distal phalanx
        return (seg_phalanx(f, 2),)
    return (seg_phalanx(f, s - 1), seg_phalanx(f, s))


# Per-joint visibility codes.
VIS_VISIBLE = 0
VIS_OBJECT = 1
VIS_SELF = 2
VIS_OUTSIDE = 3
VIS_SURROUNDINGS = 4  # hidden by the table, backdrop, a distractor or an accessory

# Finger colours (RGB 0-255) for overlays, thumb..pinky; the wrist uses WRIST_COLOUR.
FINGER_COLOURS = ((230, 60, 60), (240, 180, 40), (60, 190, 80), (50, 130, 230), (170, 80, 220))
WRIST_COLOUR = (240, 240, 240)

CATEGORIES = ("cylindrical", "slender", "cubical", "spherical")
