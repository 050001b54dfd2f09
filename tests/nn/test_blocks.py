"""The generator's 2x upsampling: the form compiled code traces equals the eager kernel."""

import torch
import torch.nn.functional as F

from hbaezoo.nn import blocks


def test_compiled_upsampling_form_matches_the_eager_kernel_in_values_and_gradients(monkeypatch):
    x = torch.randn(3, 4, 5, 6, generator=torch.Generator().manual_seed(0)).contiguous(memory_format=torch.channels_last)
    weight = torch.randn(3, 4, 10, 12, generator=torch.Generator().manual_seed(1))

    def value_and_grad(upsample):
        leaf = x.clone().requires_grad_()
        out = upsample(leaf)
        (out * weight).sum().backward()
        return out, leaf.grad

    eager_out, eager_grad = value_and_grad(blocks.upsample_nearest2x)
    assert eager_out.is_contiguous(memory_format=torch.channels_last), "eager upsampling must keep channels_last"
    torch.testing.assert_close(eager_out, F.interpolate(x, scale_factor=2, mode="nearest"), rtol=0, atol=0)

    monkeypatch.setattr(torch.compiler, "is_compiling", lambda: True)
    traced_out, traced_grad = value_and_grad(blocks.upsample_nearest2x)
    torch.testing.assert_close(traced_out, eager_out, rtol=0, atol=0)
    # Each input pixel feeds a 2x2 block, so its gradient is the sum of the block's weights.
    torch.testing.assert_close(traced_grad, eager_grad)
    torch.testing.assert_close(eager_grad, F.avg_pool2d(weight, 2) * 4)


def test_a_compiled_generator_block_traces_the_broadcast_not_interpolate():
    torch._dynamo.reset()
    graphs = []

    def capture(gm, example_inputs):  # a dynamo backend that only records what it was given
        graphs.append(gm.code)
        return gm.forward

    block = blocks.UpBlock(4, 4, cond_dim=0).eval()
    x = torch.randn(2, 4, 4, 4)
    out = torch.compile(block, backend=capture, fullgraph=True)(x, x.new_zeros(2, 0))
    torch.testing.assert_close(out, block(x, x.new_zeros(2, 0)))
    assert graphs and not any("interpolate" in code or "upsample" in code for code in graphs), graphs
    torch._dynamo.reset()
