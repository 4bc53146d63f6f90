"""One source of truth for defaults: the ``Options`` of every extraction, metric and sampling call.

Every default lives here once, with the reason or the source it comes from. The library's functions take
these names as keyword arguments, the CLI's options are generated from the same fields (so the two
cannot drift), and an unknown keyword raises ``GenmetricsError`` naming the closest valid one.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field, fields, replace

from .errors import GenmetricsError

RESIZE_MODES = ("tf", "pytorch-fid", "clean", "dgm-eval", "edm2", "torch-fidelity", "cmmd", "edm2-inception")
FEATURE_DIMS = (64, 192, 768, 2048)
PRECISIONS = ("fp32", "tf32", "bf16", "fp64")
BACKENDS = ("auto", "torch", "onnxruntime")
KID_KERNELS = ("poly", "rbf")
EXTRACTOR_INPUTS = ("float", "uint8")


def _option(default, help: str, source: str = "", group: str = "extraction"):
    """A field with its CLI help, where its value comes from, and which calls take it."""
    return field(default=default, metadata={"help": help, "source": source, "group": group})


@dataclass(frozen=True)
class Options:
    """Every option of feature extraction, the sample metrics and sampling, with its default."""

    # ---- feature extraction (group "extraction")
    resize: str | None = _option(None, "Preprocessing protocol: tf = TF1 bilinear on uint8 (published numbers, "
                                 "torch-fidelity); pytorch-fid = torch bilinear on [0,1]; clean = clean-fid's PIL "
                                 "bicubic; dgm-eval = PIL bicubic on uint8; edm2 = torch bicubic antialiased; "
                                 "torch-fidelity = tf; cmmd = centre crop + PIL bicubic; edm2-inception = tf's "
                                 "mapping as StyleGAN3/EDM2's Inception computes it (grid_sample), for edm2's "
                                 "fid reference statistics [default: the extractor's "
                                 "own: tf for inception and vgg16, dgm-eval for dinov2-*, cmmd for clip-*].",
                                 "the original TF FID code (TTUR fid.py) resizes with TF1 bilinear on uint8; "
                                 "dgm-eval's DINOv2 transform (PIL bicubic); google-research cmmd io_util.py; NVlabs/edm2 "
                                 "calculate_metrics.py InceptionV3Detector (StyleGAN3's inception-2015-12-05.pkl)")
    dims: int = _option(2048, "Inception layer: 64, 192, 768 (block features) or 2048 (pool).",
                        "2048: the final average pool of InceptionV3, the FID of Heusel et al. 2017")
    extractor: str = _option("inception", "Feature extractor: inception, vgg16, digits, stacked-digits, "
                             "torchscript:PATH, or one registered in code.", "Heusel et al. 2017 (FID) use the FID InceptionV3")
    extractor_size: int | None = _option(None, "Input resolution of the extractor (needed for torchscript:PATH).")
    extractor_weights: str | None = _option(None, "Weights of a non-Inception extractor (vgg16: torchvision's "
                                            "state dict; digits: a retrained file [default: the shipped one]).")
    extractor_input: str = _option("float", "What a torchscript extractor takes: [0,1] floats or uint8.")
    weights: str | None = _option(None, "FID Inception weights file (pytorch-fid's .pth); also "
                                  "$GENMETRICS_WEIGHTS. Downloaded and cached on first use otherwise.")
    device: str = _option("auto", "auto, cpu, cuda or cuda:N (auto: a CUDA GPU when there is one).")
    batch_size: int = _option(50, "Images per network batch; does not change the numbers.",
                              "pytorch-fid's default --batch-size")
    workers: int | None = _option(None, "Image decoding processes [default: half the cores for files, 0 for "
                                  "arrays].")
    skip_bad: bool = _option(False, "Skip (and count) unreadable images instead of stopping.")
    cache: bool | None = _option(None, "Read and write the content-keyed cache of statistics and features "
                                 "[default: on unless $GENMETRICS_NO_CACHE is set].")
    hash_content: bool = _option(False, "Key the cache on file contents rather than sizes and modification times.")
    precision: str = _option("fp32", "Network arithmetic. fp32 is what the reference tools compute; fp64 removes "
                             "float32 round-off from comparisons (slower); tf32 (CUDA) and bf16 are faster but "
                             "move the numbers.", "fp32: what the reference tools compute in; fp64 as torch-fidelity's "
                             "feature_extractor_internal_dtype='float64' and torchmetrics' set_dtype(torch.float64)")
    backend: str = _option("auto", "What runs the network: torch, or onnxruntime (CPU, fp32; pip install "
                           "genmetrics[onnx]); auto = onnxruntime on the CPU when installed, else torch ("
                           "$GENMETRICS_BACKEND sets what auto means). Recorded in every result's protocol.",
                           "onnxruntime: the same fused graph ran 1.43x torch's speed on a 2-core CPU, features "
                           "within float32 round-off (issue 17; docs/speed.md)")
    progress: bool = _option(True, "Show a progress bar.")

    # ---- sample metrics (group "metrics")
    splits: int = _option(10, "Inception Score splits.",
                          "Salimans et al. 2016 (improved-gan inception_score.py)", "metrics")
    shuffle_seed: int | None = _option(None, "Shuffle IS samples with RandomState(S) before splitting; 2020 "
                                       "reproduces torch-fidelity.",
                                       "not shuffling makes IS a function of the given order; torch-fidelity "
                                       "shuffles with its rng_seed 2020 (torch_fidelity/defaults.py)", "metrics")
    seed: int = _option(2020, "KID subsets and bootstrap draws; 2020 is torch-fidelity's.",
                        "torch-fidelity's rng_seed (torch_fidelity/defaults.py), so KID subsets match its draws",
                        "metrics")
    kid_subsets: int = _option(100, "KID: number of random subsets.",
                               "Binkowski et al. 2018 code; torch-fidelity kid_subsets", "metrics")
    kid_subset_size: int | None = _option(None, "KID: subset size [default: min(1000, n)].",
                                          "1000: torch-fidelity kid_subset_size; capped at n so small sets work",
                                          "metrics")
    kid_kernel: str = _option("poly", "KID kernel: poly, (gamma x.y + coef0)^degree; rbf, exp(-|x-y|^2 / (2 "
                              "sigma^2)), torch-fidelity's kid_kernel='rbf'.",
                              "poly: Binkowski et al. 2018, section 4; torch-fidelity kid_kernel (defaults.py)", "metrics")
    kid_degree: int = _option(3, "KID polynomial kernel degree.",
                              "Binkowski et al. 2018, section 4; torch-fidelity kid_kernel_poly_degree", "metrics")
    kid_gamma: float | None = _option(None, "KID polynomial kernel scale [default: 1 / feature dimension].",
                                      "1/d: Binkowski et al. 2018; torch-fidelity kid_kernel_poly_gamma=None", "metrics")
    kid_coef0: float = _option(1.0, "KID polynomial kernel offset.",
                               "Binkowski et al. 2018; torch-fidelity kid_kernel_poly_coef0", "metrics")
    kid_rbf_sigma: float = _option(10.0, "KID rbf kernel width sigma.", "torch-fidelity kid_kernel_rbf_sigma "
                                   "(defaults.py)", "metrics")
    pr_k: int = _option(3, "k of precision/recall.", "Kynkaanniemi et al. 2019, section 3 (k = 3)", "metrics")
    dc_k: int = _option(5, "k of density/coverage.", "Naeem et al. 2020, section 4 (k = 5)", "metrics")
    memorization_samples: int = _option(16, "Memorization (authpct, genmetrics memorization): list the N generated "
                                        "samples most like a training image (smallest d1/d2) with their nearest "
                                        "training images.",
                                        "ours: 16 rows of 96 px cells fit one screen (memorization.py CELL); the "
                                        "list is for looking at, the number (authpct) counts every sample",
                                        "metrics")
    memorization_neighbours: int = _option(4, "Memorization: nearest training images listed per suspicious sample.",
                                           "ours: the nearest one shows a copy; 3 more show whether it is a near-"
                                           "duplicate cluster (a row of 5 cells)", "metrics")
    bootstrap: int = _option(0, "Resample the images B times and report percentile intervals.", "", "metrics")
    confidence: float = _option(0.95, "Bootstrap interval level.", "", "metrics")

    # ---- streaming metric objects (group "streaming": genmetrics.metrics.FID, KID, ...)
    stream_max_samples: int = _option(50_000, "Streaming KID, IS and precision/recall objects keep per-image "
                                      "features: at most this many per side and process (2048-d float32: 400 MB "
                                      "per side at 50,000); past it update() refuses with a message.",
                                      "50,000: the sample count of the usual FID/KID protocol (Heusel et al. 2017, "
                                      "section 5), so the usual evaluation fits and an unbounded one does not",
                                      "streaming")

    # ---- sampling generators (group "sampling")
    sample_seed: int = _option(0, "Seed of the latents: sample i depends on (seed, i) only, not on the batch.",
                               "", "sampling")
    sample_batch_size: int = _option(256, "Generator batch; does not change the samples (noise is drawn per "
                                     "sample).", "", "sampling")
    toy_samples: int = _option(2500, "Samples of a 2-D toy generator for mode coverage.",
                               "PacGAN (Lin et al. 2018) Table 1 and VEEGAN use 2,500 samples", "sampling")
    sweep_n: int = _option(10000, "Samples per truncation level.",
                           "a trade-off, not a paper's value: FID's bias falls as 1/N; 7 levels of 10,000 take about "
                           "1.5 hours on a 2-core CPU (a warning says so up front)",
                           "sampling")
    sweep_metrics: tuple = _option(("fid", "is"), "Metrics of each truncation level.",
                                   "the FID/IS trade-off curve of BigGAN (Brock et al. 2018, Fig. 2)", "sampling")
    truncations: tuple = _option((2.0, 1.5, 1.0, 0.7, 0.5, 0.3, 0.1), "Truncation levels of a sweep.",
                                 "from 2.0 (resample redraws under 5% of entries: near no truncation) down to 0.1 (strong "
                                 "truncation)", "sampling")

    # ---- Parzen-window log-likelihood (group "parzen"; Goodfellow et al. 2014's parzen_ll.py protocol)
    parzen_n: int = _option(10_000, "Kernel centres: the first N samples.",
                            "parzen_ll.py --num_samples default, the paper's protocol", "parzen")
    parzen_sigma_grid: tuple = _option((0.1, 1.0, 10), "lo:hi:n, the widths numpy.logspace(log10 lo, log10 hi, n).",
                                       "parzen_ll.py --sigma_start -1 --sigma_end 0 --cross_val 10", "parzen")
    parzen_sigma_search: str = _option("grid", "grid, or refine: golden-section search around the best grid width.",
                                       "grid: parzen_ll.py's search", "parzen")
    parzen_batch_size: int = _option(2048, "Rows per distance block; working memory about 24 x B x (B + D) bytes.",
                                     "ours: 32 MiB float64 blocks; at 10,000 x 10,000 x 784 on 2 CPU cores 4096 is "
                                     "~7% faster for 4x the memory, smaller blocks are slower", "parzen")
    parzen_refine_tolerance: float = _option(0.01, "Golden-section stop: bracket on ln sigma below this.",
                                             "ours: sigma within ~0.5%; the validation curve is flat at its top, so "
                                             "finer steps change the LL by far less than its SE", "parzen")

    # ---- test log-likelihood of likelihood models (group "likelihood"; genmetrics nll)
    iwae_k: int = _option(5000, "Importance samples per image of the VAE's IWAE bound (and its ELBO estimate).",
                          "Burda, Grosse & Salakhutdinov 2016, Section 5: k = 5000 for the test log-likelihood",
                          "likelihood")
    nll_batch_size: int = _option(100, "Images per batch of genmetrics nll; does not change the numbers.",
                                  "ours: memory, not the result (the importance draws are per image)", "likelihood")

    def replace(self, **changes) -> "Options":
        check_keywords(changes, option_names(), "Options")
        return replace(self, **changes)


# The name the library has always used; ``Defaults`` kept as an alias for code that imported it.
Defaults = Options
DEFAULTS = Options()


def option_names(*groups: str) -> tuple[str, ...]:
    """The names of the options in ``groups`` (all of them when none is given)."""
    return tuple(f.name for f in fields(Options) if not groups or f.metadata["group"] in groups)


def option_help(name: str) -> str:
    return Options.__dataclass_fields__[name].metadata["help"]


def option_source(name: str) -> str:
    return Options.__dataclass_fields__[name].metadata["source"]


EXTRACTION_OPTIONS = option_names("extraction")
METRIC_OPTIONS = option_names("metrics")


def check_keywords(given, allowed, where: str) -> None:
    """Raise ``GenmetricsError`` for a keyword not in ``allowed``, naming the closest valid one."""
    for name in given:
        if name not in allowed:
            close = difflib.get_close_matches(name, list(allowed), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; valid: {', '.join(sorted(allowed))}"
            raise GenmetricsError(f"{where}() got an unknown option {name!r}{hint}")
