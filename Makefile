# hopgen: `make demo` renders, checks and learns from a small dataset; `make test` runs the test suite.
PYTHON ?= python3
VENV   ?= .venv
# PyTorch requirement installed before the project. The default is the CPU build that this
# workplace keeps on local disk; on a CUDA machine use e.g. `make demo TORCH=torch`.
TORCH  ?= torch==2.13.0
PY     := $(VENV)/bin/python
HOPGEN := $(VENV)/bin/hopgen
OUT    ?= out/demo
RUN    ?= runs/demo
# Training steps of each tiny demo run (the demo shows the whole pipeline working, not accuracy).
DEMO_STEPS ?= 150
PYTEST_ARGS ?= -n 2 --dist loadfile

.PHONY: demo test bench venv clean slurm-packages

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -e ".[render,train,dev,physics]"
	touch $@

venv: $(VENV)/.installed

test: venv slurm-packages
	$(PY) -m pytest $(PYTEST_ARGS)

# tests/test_slurm.py runs a real single-node Slurm as root: install Debian's packages when missing.
slurm-packages:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	    ! PATH="$$PATH:/usr/sbin:/sbin" command -v slurmctld >/dev/null; then \
	  echo "installing slurm-wlm and munge for the Slurm test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null; \
	fi

demo: venv
	$(HOPGEN) render --config configs/hop_demo.yaml --out $(OUT)
	$(HOPGEN) index $(OUT)
	$(HOPGEN) validate $(OUT)
	$(HOPGEN) stats $(OUT)
	$(HOPGEN) preview $(OUT) --out $(OUT)/preview.png
	$(HOPGEN) train --config configs/train/tiny_ours_posenet.yaml --data $(OUT) --out $(RUN)/2d --force \
		--set train.iterations=$(DEMO_STEPS) --set train.ckpt_every=$(DEMO_STEPS) --set train.log_every=25
	$(HOPGEN) train --config configs/train/tiny_3d_cluster.yaml --data $(OUT) --out $(RUN)/3d --force \
		--set train.iterations=$(DEMO_STEPS) --set train.ckpt_every=$(DEMO_STEPS) --set train.log_every=25
	$(HOPGEN) eval --run $(RUN)/2d --run $(RUN)/3d --data $(OUT) --out $(RUN)/report
	$(HOPGEN) predict $(OUT)/rgb/$$(head -n 1 $(OUT)/splits/test.txt).png --run $(RUN)/3d --run2d $(RUN)/2d \
		--out $(RUN)/predict
	@echo "demo outputs:"
	@echo "  dataset        $(OUT) (preview $(OUT)/preview.png)"
	@echo "  2D run         $(RUN)/2d (tiny Ours-PoseNet, $(DEMO_STEPS) steps)"
	@echo "  3D run         $(RUN)/3d (tiny Ours cluster, from ground-truth heatmaps, $(DEMO_STEPS) steps)"
	@echo "  eval report    $(RUN)/report/report.md (Tables I, II, III; pck.png, pck3d.png, latent_3d.png, overlays_2d.png)"
	@echo "  prediction     $(RUN)/predict/$$(head -n 1 $(OUT)/splits/test.txt).png (skeleton overlay + 3D view) and .json"

bench: venv
	mkdir -p benchmarks/results
	$(HOPGEN) bench grasp --out benchmarks/results/grasp.json
	$(HOPGEN) bench render --out benchmarks/results/render.json
	$(HOPGEN) bench train --out benchmarks/results/train.json

clean:
	rm -rf out runs .pytest_cache
