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
PYTEST_ARGS ?= -n 2 --dist loadfile

.PHONY: demo test bench venv clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -e ".[render,train,dev]"
	touch $@

venv: $(VENV)/.installed

test: venv
	$(PY) -m pytest $(PYTEST_ARGS)

demo: venv
	$(HOPGEN) render --config configs/hop_demo.yaml --out $(OUT)
	$(HOPGEN) index $(OUT)
	$(HOPGEN) validate $(OUT)
	$(HOPGEN) stats $(OUT)
	$(HOPGEN) preview $(OUT) --out $(OUT)/preview.png
	$(HOPGEN) train --config configs/train/tiny_ours_posenet.yaml --data $(OUT) --out $(RUN)/2d
	$(HOPGEN) eval --run $(RUN)/2d --data $(OUT) --out $(RUN)/2d/report
	@echo "demo outputs: dataset $(OUT), preview $(OUT)/preview.png, run $(RUN)/2d, report $(RUN)/2d/report"

bench: venv
	mkdir -p benchmarks/results
	$(HOPGEN) bench grasp --out benchmarks/results/grasp.json
	$(HOPGEN) bench render --out benchmarks/results/render.json
	$(HOPGEN) bench train --out benchmarks/results/train.json

clean:
	rm -rf out runs .pytest_cache
