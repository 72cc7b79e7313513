"""Recorded wrong answers for notebook 03's exercises (tests/test_exercises.py)."""

_FORWARD = '''class SimplifiedConcrete(torch.autograd.Function):
    @staticmethod
    def forward(ctx, logit_p, temp, u):
        z = (logit_p + torch.logit(u)) / temp
        ctx.save_for_backward(z)
        ctx.temp = temp
        return torch.sigmoid(z)

    @staticmethod
    def backward(ctx, grad_output):
        (z,) = ctx.saved_tensors
'''

_WITH_T = '''class WithTemperature(torch.autograd.Function):
    @staticmethod
    def forward(ctx, logit_p, temp, u):
        z = (logit_p + torch.logit(u)) / temp
        ctx.save_for_backward(z, temp)
        return torch.sigmoid(z)

    @staticmethod
    def backward(ctx, grad_output):
        z, temp = ctx.saved_tensors
        dy_dz = torch.sigmoid(z) * torch.sigmoid(-z)
        grad_theta = grad_output * dy_dz / temp
'''

_STEPS = "step_a = {a}\nstep_b = {b}\nstep_c = {c}\n"

WRONG_ANSWERS = {
    "nb03-backward": [
        ("the backward forgets the 1/T of dz/dθ",
         _FORWARD + "        return grad_output * torch.sigmoid(z) * torch.sigmoid(-z), None, None\n"),
        ("the backward ignores grad_output (right only for a plain sum)",
         _FORWARD + "        return torch.sigmoid(z) * torch.sigmoid(-z) / ctx.temp, None, None\n"),
    ],
    "nb03-temperature": [
        ("dy/dT with the sign of dz/dT lost",
         _WITH_T + "        grad_temp = (grad_output * dy_dz * z / temp).sum()\n"
                   "        return grad_theta, grad_temp, None\n"),
        ("dy/dT with one T too many: −σ(z)σ(−z)·z/T²",
         _WITH_T + "        grad_temp = -(grad_output * dy_dz * z / temp**2).sum()\n"
                   "        return grad_theta, grad_temp, None\n"),
    ],
    "nb03-adam-predict": [
        ("(c) by the shortcut g/ε, as if |g| were small next to ε", _STEPS.format(a=0.75, b=0.0, c=0.3)),
        ("(a) a full step, forgetting ε next to a gradient of its size", _STEPS.format(a=1.0, b=0.0, c=0.23)),
        ("(b) a full step: the sign of g is all Adam sees", _STEPS.format(a=0.75, b=1.0, c=0.23)),
    ],
    "nb03-theta-stuck": [
        ("the bisection's low end: the largest float32 whose σ is still below 1",
         "low, high = torch.tensor(10.0), torch.tensor(20.0)\n"
         "while torch.nextafter(low, high) < high:\n"
         "    middle = ((low.double() + high.double()) / 2).float()\n"
         "    if middle in (low, high):\n"
         "        break\n"
         "    if torch.sigmoid(middle) == 1:\n"
         "        high = middle\n"
         "    else:\n"
         "        low = middle\n"
         "theta_stuck = low.item()\n"),
        ("24 ln 2 rounded to two decimals, where σ is already 1 but not the first such float",
         "theta_stuck = 16.64\n"),
    ],
}
