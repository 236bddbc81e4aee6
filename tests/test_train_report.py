"""trainer.report: the markdown tables shaped like the paper's Tables I-IV, from hand-made metrics."""

from trainer.report import report_markdown


def _r(method, table, auc, **kw):
    stage, unit, hi = ("2d", "px", 20) if table == "I" else ("3d", "mm", 50)
    base = {"method": method, "stage": stage, "table": table, "unit": unit, "lo": 0, "hi": hi, "split": "test",
            "data": ["hop_cpu"], "samples": 40, "auc": auc, "epe_median": 12.345, "epe_mean": 20.0,
            "per_category": {"cylindrical": {"auc": auc}, "slender": {"auc": auc + 0.1}}}
    base.update(kw)
    return base


def _table(text, heading):
    """The markdown table rows (lines starting with '|') of the first table after `heading`."""
    lines = text.split("\n")
    i = next(k for k, line in enumerate(lines) if line.startswith(heading))
    rows = []
    for line in lines[i + 1:]:
        if line.startswith("|"):
            rows.append(line)
        elif rows:
            break
    return rows


def test_tables_per_paper_shape():
    results = {
        "hs": _r("HS-PoseNet", "I", 0.5, mask_iou_crop=0.7, mask_iou_full=None),
        "ours": _r("Ours-PoseNet", "I", 0.6, mask_iou_crop=0.8, mask_iou_full=0.75),
        "pp": _r("PosePrior (Z&B)", "III", 0.4, category_accuracy=None, cluster_purity=None, latent_plot=None),
        "tri": _r("Ours (triplet)", "III", 0.45, category_accuracy=0.9, cluster_purity=None,
                  latent_plot="latent_tri.png"),
        "full": _r("Ours-PoseNet + Ours (cluster)", "IV", 0.3, auc_2d=0.55, category_accuracy=0.5,
                   cluster_purity=0.6, latent_plot="latent_full.png"),
    }
    text = report_markdown(results, [("pck3d.png", "3D PCK")])
    t1 = _table(text, "## Table I: 2D joint estimation")
    assert t1[0] == "| data | method | run | AUC (0-20 px) | EPE median (px) | EPE mean (px) |"
    assert t1[2] == "| hop_cpu (test, 40) | HS-PoseNet | hs | 0.500 | 12.345 | 20.000 |"
    t2 = _table(text, "## Table II")
    assert t2[0] == "| method | run | cylindrical | slender | cubical | spherical | Avg. |"
    assert t2[3] == "| Ours-PoseNet | ours | 0.600 | 0.700 | - | - | 0.650 |"
    iou = _table(text, "### Hand mask IoU")
    assert iou[2] == "| hs | 0.700 | - |"
    t3 = _table(text, "## Table III: 3D pose from ground-truth heatmaps")
    assert t3[0] == "| data | method | run | AUC (0-50 mm) | EPE median (mm) | EPE mean (mm) |"
    assert t3[2] == "| hop_cpu (test, 40) | PosePrior (Z&B) | pp | 0.400 | 12.3 | 20.0 |" and len(t3) == 4
    assert _table(text, "### Table III per object category")[3].endswith("| 0.500 |")
    read3 = _table(text, "Object category read from the latent")
    assert read3[2] == "| PosePrior (Z&B) | pp | - | - | - |"
    assert read3[3] == "| Ours (triplet) | tri | 0.900 | - | latent_tri.png |"
    t4 = _table(text, "## Table IV: the whole pipeline")
    assert t4[0] == "| method | run | AUC (0-50 mm) | EPE median (mm) | EPE mean (mm) | 2D AUC (0-20 px) |"
    assert t4[2] == "| Ours-PoseNet + Ours (cluster) | full | 0.300 | 12.3 | 20.0 | 0.550 |" and len(t4) == 3
    assert "Data: hop_cpu (test, 40)." in text
    assert "- `pck3d.png`: 3D PCK" in text
    for table in (t1, t2, t3, t4, read3):  # every row has the header's number of cells
        assert len({row.count("|") for row in table}) == 1, table
    assert text.index("Table I:") < text.index("Table II") < text.index("Table III") < text.index("Table IV")


def test_only_the_tables_present():
    text = report_markdown({"pp": _r("PosePrior (Z&B)", "III", 0.4)})
    assert "Table III" in text and "Table I:" not in text and "Table IV" not in text and "Figures" not in text
