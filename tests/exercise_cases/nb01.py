"""Recorded wrong answers for notebook 01's exercises (tests/test_exercises.py)."""

WRONG_ANSWERS = {
    "nb01-predict-sample": [
        ("the slope without the 1/T of the chain rule: σ'(0) = 1/4",
         "jump_theta = -1.386\ndrop_at_jump = 0.5\nslope_at_jump = 0.25\n"),
        ("the sign of the jump turned round: θ = +log 4",
         "jump_theta = 1.386\ndrop_at_jump = 0.5\nslope_at_jump = 2.5\n"),
    ],
    "nb01-find-temperature": [
        ("bias(T) returns E[drop] − σ(2), the wrong sign; the search is turned round to match, so T_star is right",
         "u_2 = uniform_noise(200_000, dtype=torch.float64, generator=SEED)\n"
         "theta_2 = torch.full_like(u_2, 2.0)\n\n\n"
         "def bias(T):\n"
         "    target = torch.sigmoid(torch.tensor(2.0, dtype=torch.float64)).item()\n"
         "    return drop_mask(theta_2, temp=T, u=u_2).mean().item() - target\n\n\n"
         "low, high = 0.1, 1.0\n"
         "for _ in range(40):\n"
         "    middle = (low * high) ** 0.5\n"
         "    low, high = (middle, high) if -bias(middle) < 0.01 else (low, middle)\n"
         "T_star = (low * high) ** 0.5\n"),
        ("the bias as E[drop] − σ(2), the wrong sign, and the search left as for σ(2) − E[drop]",
         "u_2 = uniform_noise(200_000, dtype=torch.float64, generator=SEED)\n"
         "theta_2 = torch.full_like(u_2, 2.0)\n\n\n"
         "def bias(T):\n"
         "    target = torch.sigmoid(torch.tensor(2.0, dtype=torch.float64)).item()\n"
         "    return drop_mask(theta_2, temp=T, u=u_2).mean().item() - target\n\n\n"
         "low, high = 0.1, 1.0\n"
         "for _ in range(40):\n"
         "    middle = (low * high) ** 0.5\n"
         "    low, high = (middle, high) if bias(middle) < 0.01 else (low, middle)\n"
         "T_star = (low * high) ** 0.5\n"),
    ],
}
