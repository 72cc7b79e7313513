"""Recorded wrong answers for notebook 05's exercises (tests/test_exercises.py)."""

WRONG_ANSWERS = {
    "variance-step-noise": [
        ("left as the per-run std, which counts a trend as noise",
         "def step_noise(trace, skip):\n"
         "    return trace[:, skip:].std(axis=1, ddof=1)\n"),
        ("the differences without the 1/√2: the noise of one value counted twice",
         "def step_noise(trace, skip):\n"
         "    return np.diff(trace[:, skip:], axis=1).std(axis=1, ddof=1)\n"),
        ("skip ignored: the ramp of the first iterations counts",
         "def step_noise(trace, skip):\n"
         "    return np.diff(trace, axis=1).std(axis=1, ddof=1) / np.sqrt(2)\n"),
    ],
    "variance-sign-test": [
        ("one-sided: the factor 2 left out",
         "def sign_test_p(x, y):\n"
         "    d = np.asarray(x, dtype=float) - np.asarray(y, dtype=float)\n"
         "    n_pos, n = int((d > 0).sum()), int((d != 0).sum())\n"
         "    if n == 0:\n"
         "        return 1.0\n"
         "    k = min(n_pos, n - n_pos)\n"
         "    return min(1.0, sum(math.comb(n, i) for i in range(k + 1)) / 2**n)\n"),
        ("ties kept and counted as a difference",
         "def sign_test_p(x, y):\n"
         "    d = np.asarray(x, dtype=float) - np.asarray(y, dtype=float)\n"
         "    n = d.size\n"
         "    n_pos = int((d > 0).sum())\n"
         "    k = min(n_pos, n - n_pos)\n"
         "    return min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2**n)\n"),
    ],
    "variance-eps-prediction": [
        ("the ε factor F(θ) alone, without the steeper slope at Gal's lower logit",
         "def predicted_ratio(theta, eps, temp):\n"
         "    p = 1 / (1 + math.exp(-theta))\n"
         "    return p * (1 - p) * (1 / (p + eps) + 1 / (1 - p + eps))\n\n\n"
         "costs_more = {12.0: False, 16.0: True}\n"),
        ("the slope factor turned round: exp((ℓ − θ)/T)",
         "def predicted_ratio(theta, eps, temp):\n"
         "    p = 1 / (1 + math.exp(-theta))\n"
         "    factor = p * (1 - p) * (1 / (p + eps) + 1 / (1 - p + eps))\n"
         "    logit = math.log(p + eps) - math.log(1 - p + eps)\n"
         "    return factor * math.exp((logit - theta) / temp)\n\n\n"
         "costs_more = {12.0: False, 16.0: True}\n"),
        ("the prediction turned round: ε guessed to matter less the more saturated θ is",
         "def predicted_ratio(theta, eps, temp):\n"
         "    p = 1 / (1 + math.exp(-theta))\n"
         "    factor = p * (1 - p) * (1 / (p + eps) + 1 / (1 - p + eps))\n"
         "    logit = math.log(p + eps) - math.log(1 - p + eps)\n"
         "    return factor * math.exp((theta - logit) / temp)\n\n\n"
         "costs_more = {12.0: True, 16.0: False}\n"),
    ],
    "variance-active-share": [
        ("a simulation where a derivation is asked (a million samples)",
         "def active_share(temp):\n"
         "    u = torch.rand(1_000_000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)\n"
         "    y = torch.sigmoid(torch.log(u / (1 - u)) / temp)\n"
         "    return float((y * (1 - y) >= 0.0025).double().mean())\n"),
        ("the threshold on |n| without the temperature: P(|n| <= z0)",
         "def active_share(temp):\n"
         "    y0 = (1 - math.sqrt(1 - 4 * 0.0025)) / 2\n"
         "    z0 = math.log((1 - y0) / y0)\n"
         "    return 2 / (1 + math.exp(-z0)) - 1\n"),
        ("the threshold divided by T instead of multiplied",
         "def active_share(temp):\n"
         "    y0 = (1 - math.sqrt(1 - 4 * 0.0025)) / 2\n"
         "    z0 = math.log((1 - y0) / y0)\n"
         "    return 2 / (1 + math.exp(-z0 / temp)) - 1\n"),
    ],
}
