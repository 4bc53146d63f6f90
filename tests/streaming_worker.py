"""Run by tests/test_streaming_distributed.py, alone or under torchrun (2 gloo ranks): streaming FID and KID
objects, each rank updating with its own batches; rank 0 writes the results as JSON to argv[2].

Scenarios: "split" (each rank half of the batches), "empty" (rank 1 has no batch at all), "fixed" (a reference
given when the objects are made, statistics computed across the ranks, generated batches split)."""
import json
import sys
import warnings

from genmetrics import distributed
from genmetrics.metrics import FID, KID
from genmetrics.testing import synthetic_images

warnings.simplefilter("ignore")  # 12 images for 64-d features: the small-sample warning
weights, out = sys.argv[1], sys.argv[2]
options = dict(dims=64, weights=weights, device="cpu", batch_size=3)
real, fake = synthetic_images(12, 32, seed=1), synthetic_images(12, 32, seed=2, contrast=0.6)
batches = [slice(i, i + 3) for i in range(0, 12, 3)]
rank, world = distributed.rank(), distributed.world_size()


def mine(scenario):
    """This rank's batches: contiguous halves (rank order is input order), or all of them on rank 0."""
    if world == 1:
        return batches
    if scenario == "empty":
        return batches if rank == 0 else []
    return batches[:2] if rank == 0 else batches[2:]


results = {}
for scenario in ("split", "empty", "fixed"):
    fixed = scenario == "fixed"
    metrics = [FID(reference=real if fixed else None, **options),
               KID(reference=real if fixed else None, kid_subsets=5, kid_subset_size=6, **options)]
    for metric in metrics:
        for part in mine(scenario):
            if not fixed:
                metric.update(real[part], real=True)
            metric.update(fake[part])
    fid, kid = (metric.compute() for metric in metrics)
    # sync=False: this rank's own batches only (a rank without any has nothing to compute alone)
    local = metrics[0].compute(sync=False).n2 if mine(scenario) else None
    results[scenario] = {"fid": fid.fid, "n1": fid.n1, "n2": fid.n2, "kid": kid.kid, "kid_std": kid.kid_std,
                         "local_n2": local}
if distributed.is_main():
    with open(out, "w") as handle:
        json.dump({"world": world, **results}, handle)
distributed.finish()
