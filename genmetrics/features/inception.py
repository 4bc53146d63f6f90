"""The FID InceptionV3: the 2015-12-05 TensorFlow graph as pytorch-fid and torch-fidelity port it.

The module names and parameter shapes are those of pytorch-fid's ``fid_inception_v3()`` (torchvision's
Inception3 with the FID blocks patched in), so its weights file ``pt_inception-2015-12-05-6726825d.pth``
and torch-fidelity's ``weights-inception-2015-12-05-6726825d.pth`` load as they are.

Differences from torchvision's InceptionV3, all from the TF graph (pytorch-fid inception.py):
  - the average pools inside blocks A, C and E_1 exclude the zero padding (``count_include_pad=False``);
  - the pool branch of the last block (E_2) is a max pool, not an average pool;
  - the classifier has 1008 classes (the TF graph's softmax has 1008 outputs).

One forward pass returns the features asked for: the 64/192/768-d block features (spatially averaged,
as pytorch-fid ``fid_score.py`` does for dims < 2048), the 2048-d pool features, and the 1008 logits
without the fc bias (``pool @ fc.weight.T``): the logits the original improved-gan Inception Score
used, torch-fidelity's ``logits_unbiased``.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

NUM_CLASSES = 1008  # the TF graph's softmax has 1008 classes (pytorch-fid inception.py)
INPUT_SIZE = 299  # InceptionV3's input resolution (Szegedy et al. 2016)
BN_EPS = 0.001  # TF's BatchNorm epsilon, as torchvision's BasicConv2d


class BasicConv2d(nn.Module):
    """Conv (no bias) -> BatchNorm -> ReLU; after ``fuse()`` the BatchNorm is folded into the conv."""

    def __init__(self, in_channels: int, out_channels: int, **kwargs):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=BN_EPS)
        self.fused = False

    def forward(self, x):
        if self.fused:
            return F.relu(self.conv(x), inplace=True)
        return F.relu(self.bn(self.conv(x)), inplace=True)

    @torch.no_grad()
    def fuse(self):
        """Fold the eval-mode BatchNorm into the conv: w' = w * g / s, b' = beta - mean * g / s."""
        if self.fused:
            return
        bn = self.bn
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        conv = nn.Conv2d(self.conv.in_channels, self.conv.out_channels, self.conv.kernel_size,
                         stride=self.conv.stride, padding=self.conv.padding, bias=True,
                         dtype=self.conv.weight.dtype)  # float64 under --precision fp64
        conv.weight.copy_(self.conv.weight * scale.reshape(-1, 1, 1, 1))
        conv.bias.copy_(bn.bias - bn.running_mean * scale)
        self.conv = conv.to(self.conv.weight.device)
        del self.bn
        self.fused = True


def _avg_pool_no_pad(x):
    # TF's average pool does not count the zero padding (pytorch-fid FIDInceptionA/C/E_1).
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


class InceptionA(nn.Module):
    def __init__(self, in_channels: int, pool_features: int):
        super().__init__()
        self.branch1x1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch5x5_1 = BasicConv2d(in_channels, 48, kernel_size=1)
        self.branch5x5_2 = BasicConv2d(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, padding=1)
        self.branch_pool = BasicConv2d(in_channels, pool_features, kernel_size=1)

    def forward(self, x):
        b1 = self.branch1x1(x)
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = self.branch_pool(_avg_pool_no_pad(x))
        return torch.cat([b1, b5, b3, bp], 1)


class InceptionB(nn.Module):
    def __init__(self, in_channels: int):
        super().__init__()
        self.branch3x3 = BasicConv2d(in_channels, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, stride=2)

    def forward(self, x):
        b3 = self.branch3x3(x)
        bd = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([b3, bd, bp], 1)


class InceptionC(nn.Module):
    def __init__(self, in_channels: int, channels_7x7: int):
        super().__init__()
        c7 = channels_7x7
        self.branch1x1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch7x7_1 = BasicConv2d(in_channels, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(in_channels, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(in_channels, 192, kernel_size=1)

    def forward(self, x):
        b1 = self.branch1x1(x)
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = self.branch7x7dbl_1(x)
        for conv in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            bd = conv(bd)
        bp = self.branch_pool(_avg_pool_no_pad(x))
        return torch.cat([b1, b7, bd, bp], 1)


class InceptionD(nn.Module):
    def __init__(self, in_channels: int):
        super().__init__()
        self.branch3x3_1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch3x3_2 = BasicConv2d(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, kernel_size=3, stride=2)

    def forward(self, x):
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = self.branch7x7x3_1(x)
        for conv in (self.branch7x7x3_2, self.branch7x7x3_3, self.branch7x7x3_4):
            b7 = conv(b7)
        bp = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([b3, b7, bp], 1)


class InceptionE(nn.Module):
    """Block E; ``max_pool=True`` is the graph's last block (pytorch-fid FIDInceptionE_2)."""

    def __init__(self, in_channels: int, max_pool: bool):
        super().__init__()
        self.max_pool = max_pool
        self.branch1x1 = BasicConv2d(in_channels, 320, kernel_size=1)
        self.branch3x3_1 = BasicConv2d(in_channels, 384, kernel_size=1)
        self.branch3x3_2a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 448, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(in_channels, 192, kernel_size=1)

    def forward(self, x):
        b1 = self.branch1x1(x)
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], 1)
        if self.max_pool:
            pooled = F.max_pool2d(x, kernel_size=3, stride=1, padding=1)
        else:
            pooled = _avg_pool_no_pad(x)
        return torch.cat([b1, b3, bd, self.branch_pool(pooled)], 1)


SPATIAL_CHANNELS = 7  # the ADM evaluator keeps the first 7 channels of mixed_6/conv (guided-diffusion evaluator.py)
SPATIAL_DIMS = SPATIAL_CHANNELS * 17 * 17  # 2023: mixed_6 is on the 17 x 17 grid


def spatial_features(conv: torch.Tensor) -> torch.Tensor:
    """sFID's features (Nash et al. 2021) from the output of the TF graph's ``mixed_6/conv``.

    ``mixed_6`` is the graph's seventh mixed block, pytorch-fid's ``Mixed_6d``; its ``conv`` is the 1x1
    branch after BatchNorm and ReLU (``Mixed_6d.branch1x1``). The ADM evaluator takes ``[..., :7]`` of the
    NHWC tensor and flattens it, so the 2023 values are ordered row, column, channel, as here.
    """
    return conv[:, :SPATIAL_CHANNELS].permute(0, 2, 3, 1).reshape(conv.shape[0], -1)


class FIDInceptionV3(nn.Module):
    """The FID InceptionV3. ``forward(x, outputs)`` takes a normalised 299x299 batch.

    ``outputs`` is a set of names among ``"64"``, ``"192"``, ``"spatial"`` (sFID's 2023 values),
    ``"768"``, ``"2048"`` and ``"logits"``; the pass stops after the last block any of them needs.
    """

    def __init__(self):
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
        self.Mixed_5b = InceptionA(192, pool_features=32)
        self.Mixed_5c = InceptionA(256, pool_features=64)
        self.Mixed_5d = InceptionA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, channels_7x7=128)
        self.Mixed_6c = InceptionC(768, channels_7x7=160)
        self.Mixed_6d = InceptionC(768, channels_7x7=160)
        self.Mixed_6e = InceptionC(768, channels_7x7=192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280, max_pool=False)
        self.Mixed_7c = InceptionE(2048, max_pool=True)
        self.fc = nn.Linear(2048, NUM_CLASSES)

    def fuse(self) -> "FIDInceptionV3":
        """Fold every BatchNorm into its conv (inference only); features move by float32 round-off."""
        for module in self.modules():
            if isinstance(module, BasicConv2d):
                module.fuse()
        return self

    def forward(self, x: torch.Tensor, outputs=frozenset({"2048"})) -> dict[str, torch.Tensor]:
        found: dict[str, torch.Tensor] = {}

        def done(name, value) -> bool:
            if name in outputs:
                found[name] = value.mean(dim=(2, 3)) if value.dim() == 4 else value
            return len(found) == len(outputs)

        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        if done("64", x):
            return found
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        if done("192", x):
            return found
        for block in (self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b, self.Mixed_6c):
            x = block(x)
        if "spatial" in outputs and done("spatial", spatial_features(self.Mixed_6d.branch1x1(x))):
            return found
        x = self.Mixed_6e(self.Mixed_6d(x))
        if done("768", x):
            return found
        x = self.Mixed_7c(self.Mixed_7b(self.Mixed_7a(x)))
        pool = x.mean(dim=(2, 3))  # the graph's final 8x8 average pool
        if done("2048", pool):
            return found
        # logits without the fc bias, as improved-gan's Inception Score (torch-fidelity logits_unbiased)
        done("logits", pool @ self.fc.weight.T)
        return found
