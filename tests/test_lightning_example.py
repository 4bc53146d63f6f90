"""examples/lightning_fid.py: the streaming FID inside a LightningModule's validation loop gives genmetrics.fid's
number on the same samples."""
import pytest
import torch

import genmetrics
from genmetrics.trainers.data import load_digits

from .helpers import load_script

pytest.importorskip("lightning")
pytest.importorskip("sklearn")

# Lightning's own deprecation warning under this torch, not ours
pytestmark = pytest.mark.filterwarnings("ignore:.*LeafSpec")


def test_validation_fid_equals_the_one_shot_fid(tmp_path):
    example = load_script("examples/lightning_fid.py")
    model = example.main(["--epochs", "1", "--batch-size", "40", "--val-samples", "80", "--real-samples", "160"],
                         limit_train_batches=2, enable_progress_bar=False, default_root_dir=str(tmp_path))
    assert len(model.fids) == 1  # the sanity check's partial pass was reset, not recorded
    with torch.no_grad():
        samples = model(example.validation_latents(80))  # the weights after the last step, as validation saw them
    real = load_digits(example.SIZE, "train")[0][:160]
    expected = genmetrics.fid(real, samples, extractor="digits", progress=False, cache=False).fid
    # 1e-12: the same float64 sums, accumulated over two batches instead of one (tests/test_streaming.py's bound)
    assert model.fids[0] == pytest.approx(expected, rel=1e-12)
    state = model.state_dict()  # the metric travels in the checkpoint, its generated side reset after compute
    assert state["fid.fake_n"].item() == 0 and state["fid.real_mu"].shape == (128,)
