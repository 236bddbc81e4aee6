"""Markdown evaluation reports shaped like the paper's tables (written by `hopgen eval`).

`report_markdown({run label: metrics})` renders every group of runs present:

    2D runs (stage 2d)             Table I   data | method | AUC (0-20 px) | EPE median | EPE mean
                                   Table II  AUC per object category and their average
                                   hand mask IoU (crop / whole image)
    3D from GT heatmaps (III)      Table III data | method | AUC (0-50 mm) | EPE median | EPE mean (mm)
    whole pipeline RGB -> 3D (IV)  Table IV  method | AUC (0-50 mm) | EPE median | EPE mean (mm) | 2D AUC
                                   (both 3D tables) AUC per object category + average, and the
                                   object category read from the latent: accuracy, cluster purity

and lists the figures next to it (PCK curves like Fig. 6, latent plots like Fig. 3).
"""

import numpy as np

from hopgen.core.skeleton import CATEGORIES

TABLES = {  # table id -> (title, caption)
    "I": ("2D joint estimation", "AUC of PCK over {lo:g}-{hi:g} px, EPE in px, visible joints."),
    "III": ("3D pose from ground-truth heatmaps",
            "AUC of PCK over {lo:g}-{hi:g} mm on root-relative poses rescaled with the ground-truth bone "
            "length, EPE in mm, visible joints."),
    "IV": ("the whole pipeline (RGB -> 2D -> 3D)",
           "AUC of PCK over {lo:g}-{hi:g} mm on root-relative poses rescaled with the ground-truth bone "
           "length, EPE in mm, visible joints; 2D AUC over 0-20 px of the pipeline's 2D joints."),
}


def fmt(x, nd=3):
    """A table cell: x with nd decimals, '-' for None/NaN."""
    return "-" if x is None or not np.isfinite(x) else f"{x:.{nd}f}"


def table_of(r):
    """The paper table a metrics dict belongs to: I (2D), III (3D from GT heatmaps) or IV (pipeline)."""
    return r.get("table") or ("I" if r.get("stage", "2d") == "2d" else "III")


def _data(r):
    return f"{'+'.join(r.get('data', []))} ({r.get('split', '')}, {r.get('samples', '?')})"


def _row(cells):
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _header(cells):
    return [_row(cells), "|" + "---|" * len(cells)]


def _main_table(table, rows):
    first = next(iter(rows.values()))
    u, lo, hi = first.get("unit", "px"), first.get("lo", 0), first.get("hi", 20)
    nd = 3 if u == "px" else 1
    title, caption = TABLES[table]
    with_data = table != "IV"  # the paper's Table IV has one data set and no data column
    cols = (["data"] if with_data else []) + ["method", "run", f"AUC ({lo:g}-{hi:g} {u})", f"EPE median ({u})",
                                               f"EPE mean ({u})"]
    if table == "IV":
        cols.append("2D AUC (0-20 px)")
    lines = [f"## Table {table}: {title}", "", caption.format(lo=lo, hi=hi), ""] + _header(cols)
    for label, r in rows.items():
        cells = ([_data(r)] if with_data else []) + [r["method"], label, fmt(r["auc"]), fmt(r["epe_median"], nd),
                                                     fmt(r["epe_mean"], nd)]
        if table == "IV":
            cells.append(fmt(r.get("auc_2d")))
        lines.append(_row(cells))
    if not with_data:
        lines += ["", "Data: " + "; ".join(sorted({_data(r) for r in rows.values()})) + "."]
    return lines


def _category_table(title, rows):
    first = next(iter(rows.values()))
    lines = [title.format(lo=first.get("lo", 0), hi=first.get("hi", 20), u=first.get("unit", "px")), ""]
    lines += _header(["method", "run", *CATEGORIES, "Avg."])
    for label, r in rows.items():
        pc = r.get("per_category", {})
        aucs = [pc[c]["auc"] for c in CATEGORIES if c in pc]
        lines.append(_row([r["method"], label, *(fmt(pc[c]["auc"]) if c in pc else "-" for c in CATEGORIES),
                           fmt(float(np.mean(aucs)) if aucs else None)]))
    return lines


def _readout_table(rows):
    lines = ["Object category read from the latent z_j (nearest class mean for triplet/ours models, the "
             "majority category of the nearest centre for cluster models; purity: clusters vs true categories):",
             ""] + _header(["method", "run", "category accuracy", "cluster purity", "latent plot (Fig. 3)"])
    for label, r in rows.items():
        lines.append(_row([r["method"], label, fmt(r.get("category_accuracy")), fmt(r.get("cluster_purity")),
                           r.get("latent_plot") or "-"]))
    return lines


def report_markdown(results, figures=()):
    """Markdown report for {run label: metrics dict} (see the module docstring); `figures` lists
    (file name, description) pairs written next to it."""
    lines = ["# Evaluation", ""]
    for table in ("I", "III", "IV"):
        rows = {k: r for k, r in results.items() if table_of(r) == table}
        if not rows:
            continue
        lines += _main_table(table, rows) + [""]
        if table == "I":
            if any(r.get("per_category") for r in rows.values()):
                lines += _category_table("## Table II: AUC ({lo:g}-{hi:g} {u}) per object category", rows) + [""]
            iou = {k: r for k, r in rows.items() if r.get("mask_iou_crop") is not None}
            if iou:
                lines += ["### Hand mask IoU", ""] + _header(["run", "crop IoU", "whole-image IoU"])
                lines += [_row([k, fmt(r["mask_iou_crop"]), fmt(r.get("mask_iou_full"))]) for k, r in iou.items()]
                lines.append("")
        else:
            lines += _category_table(f"### Table {table} per object category: AUC ({{lo:g}}-{{hi:g}} {{u}})", rows)
            lines += [""] + _readout_table(rows) + [""]
    if figures:
        lines += ["## Figures", ""] + [f"- `{name}`: {what}" for name, what in figures] + [""]
    return "\n".join(lines)
