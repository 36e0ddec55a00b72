"""Arrays: every dtype and order the engine reads, and 100 MB matrices in and out without a copy."""

import numpy as np
import pytest

import rfm

P_BIG = 1777  # add mod 1777: M is (3554, 3554) float64, 101 MB


def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(key)


def peak_growth(call):
    """(result, bytes by which the process's peak resident memory rose above its size before)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets the peak (VmHWM) to the current size
    except OSError:
        pytest.skip("needs Linux /proc/self/clear_refs to measure peak memory")
    before = status("VmRSS")
    result = call()
    return result, status("VmHWM") - before


def direct_coefficients(M, p):
    """alpha_g = <M, R_g>_F / ||R_g||_F^2 from dense permutation matrices R_g (add mod p)."""
    info = rfm.group_info("add", p)
    q, alpha = info["q"], []
    for k in range(p):  # r^k (a, b) = (a + k, b - k); sr^k (a, b) = (b - k, a + k)
        for reflect in (False, True):
            R = np.zeros((2 * q, 2 * q))
            for a in range(p):
                image_a, image_b = (a + k) % p, (a - k) % p
                if not reflect:
                    R[image_a, a] = R[q + image_b, q + a] = 1
                else:
                    R[q + image_a, a] = R[image_b, q + a] = 1
            alpha.append((k, reflect, np.sum(M * R) / np.sum(R * R)))
    return info, alpha


def test_group_coefficients_against_permutation_matrices():
    rng = np.random.default_rng(0)
    M = rng.standard_normal((26, 26))
    info, direct = direct_coefficients(M, 13)
    fast = dict(zip(info["names"], rfm.group_coefficients(M, "add", 13)))
    for k, reflect, value in direct:
        name = ("sr^%d" % k if k else "s") if reflect else "r^%d" % k
        assert fast[name] == pytest.approx(value, abs=1e-12), name


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int32])
@pytest.mark.parametrize("order", ["C", "F"])
def test_every_dtype_and_order_gives_the_same_coefficients(dtype, order):
    M = np.random.default_rng(1).integers(-5, 5, (26, 26)).astype(dtype)
    expected = rfm.group_coefficients(np.asfortranarray(M, dtype=np.float64), "add", 13)
    got = rfm.group_coefficients(np.array(M, order=order), "add", 13)
    np.testing.assert_array_equal(got, expected)
    # A strided view (every other row of a taller array) is read through its strides.
    tall = np.repeat(M, 2, axis=0)
    np.testing.assert_array_equal(rfm.group_coefficients(tall[::2], "add", 13), expected)


def test_projection_of_coefficients_reproduces_a_group_matrix():
    alpha = np.random.default_rng(2).standard_normal(26)
    P = rfm.group_projection(alpha, "add", 13)
    assert P.shape == (26, 26) and P.flags.f_contiguous
    np.testing.assert_allclose(rfm.group_coefficients(P, "add", 13), alpha, atol=1e-13)


def test_a_100_mb_matrix_goes_in_without_a_copy():
    M = np.random.default_rng(3).standard_normal((2 * P_BIG, 2 * P_BIG)).T  # Fortran order
    assert M.flags.f_contiguous and M.nbytes > 100e6
    in_place, growth_f = peak_growth(lambda: rfm.group_coefficients(M, "add", P_BIG))
    C = np.ascontiguousarray(M)
    copied, growth_c = peak_growth(lambda: rfm.group_coefficients(C, "add", P_BIG))
    np.testing.assert_array_equal(in_place, copied)
    # The C-ordered matrix is converted (one copy); the Fortran-ordered one is read where it is.
    # What remains is the group's own index table (2q x 2n ints, half the size of M).
    assert growth_c > 0.9 * M.nbytes
    assert growth_f < growth_c - 0.9 * M.nbytes
    assert growth_f < 0.6 * M.nbytes


def test_a_100_mb_result_comes_out_without_a_copy():
    alpha = np.random.default_rng(4).standard_normal(2 * P_BIG)
    P, growth = peak_growth(lambda: rfm.group_projection(alpha, "add", P_BIG))
    assert P.nbytes > 100e6
    # numpy holds the engine's buffer (not its own copy of it): the result, the group's table of
    # half its size, no second result.
    assert not P.flags.owndata and P.flags.f_contiguous and P.flags.writeable
    assert growth < 1.6 * P.nbytes
    assert P[0, 0] == pytest.approx(alpha[0])  # r^0 = I: alpha of the identity on the diagonal
