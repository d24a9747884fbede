"""Diffusion (GDM) and PPO solvers on small budgets: mechanics and that they learn."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import netsim
from netsim.mechanisms.auctions import BandwidthAuction, BandwidthState
from netsim.mechanisms.base import followers_of, observe
from netsim.mechanisms.stackelberg import Stackelberg, StackelbergState
from netsim.solvers.constant import ConstantSolver
from netsim.solvers.diffusion import BestFound, Denoiser, DiffusionSolver, VPDiffusion, clamp_unit
from netsim.solvers.learning import (
    FEATURE_CLIP,
    FeatureScaler,
    Mish,
    Problem,
    RewardScale,
    to_action,
)
from netsim.solvers.ppo import PPOSolver
from netsim.training import collect_states
from tests.conftest import SCENARIOS
from tests.oracles import stackelberg_leader, stackelberg_optimum, water_filling_welfare

MECH = Stackelberg()


def reference(n: int, seed: int, p_max: float = 3.0, cost: tuple[float, float] = (0.5, 3.5),
              noise: float = 0.0) -> Problem:
    """DESIGN 4.1's reference games, except that the server's cost per layer c varies from
    state to state: the best price moves with it, so no single price can do well (the best
    one scores about 0.95 of the optimum) and a solver has to read the state to beat it."""
    rng = np.random.default_rng(seed)
    states = StackelbergState.create(rng.uniform(5, 15, (n, 5)), rng.uniform(25, 35, (n, 5)),
                                     2.0, 2.0, rng.uniform(*cost, n), 200.0, 0.01, p_max, 12)
    if not noise:
        return Problem.full_information(MECH, states)
    seen = observe(MECH, states, noise, np.random.default_rng(seed + 100))
    return Problem(MECH, states, seen, MECH.optimum(states)[1])


def ratio(solver, problem: Problem) -> float:
    """Mean share of the optimum the solver's decisions on the observed states reach on the
    true ones."""
    actions = solver.solve(MECH, problem.observed)
    return float((MECH.utility(problem.true, actions) / problem.optimum).mean())


def best_constant(problem: Problem) -> float:
    """The trivial baseline: the best single (snapped) price for these very states."""
    constant = ConstantSolver(seed=0)
    constant.fit(problem, problem.n_states * 400)
    return ratio(constant, problem)


@pytest.fixture(scope="module")
def trained():
    solver = DiffusionSolver(seed=0, hidden=64, batch=128, lr=1e-3)
    solver.fit(reference(512, 0), 128 * 120)
    return solver


def test_denoiser_maps_noise_into_the_bounds():
    torch.manual_seed(0)
    chain = VPDiffusion(Denoiser(2, 3, 32, 16), 2, 6, 0.1, 10.0)
    with torch.no_grad():
        x = chain.sample(torch.randn(500, 3) * 5, torch.Generator().manual_seed(0))
    assert x.abs().max() <= 1.0
    problem = reference(500, 1)
    prices = to_action(MECH, problem.true, x[:, :1].numpy())
    assert (prices >= 0.01).all() and (prices <= 3.0).all()


def test_clamp_lets_a_saturated_action_back_but_not_further_out():
    x = torch.tensor([1.5, 1.5, -2.0, -2.0, 0.3], requires_grad=True)
    y = clamp_unit(x)
    assert y.tolist() == pytest.approx([1.0, 1.0, -1.0, -1.0, 0.3])
    # descent moves x by -grad: inward steps pass, outward steps are blocked
    (y * torch.tensor([1.0, -1.0, -1.0, 1.0, 2.0])).sum().backward()
    assert x.grad.tolist() == [1.0, 0.0, -1.0, 0.0, 2.0]


def test_forward_and_reverse_schedules_are_consistent():
    chain = VPDiffusion(Denoiser(1, 1, 8, 16), 1, 6, 0.1, 10.0)
    x0 = torch.linspace(-1, 1, 11)[:, None]
    zero = torch.zeros_like(x0)
    for step in range(6):
        t = torch.full((11,), step, dtype=torch.long)
        xt = chain.q_sample(x0, t, zero)
        expected = x0 if step == 0 else chain.q_sample(x0, t - 1, zero)
        assert torch.allclose(chain.posterior_mean(x0, xt, t), expected, atol=1e-6)
        # with the true noise (zero) the x0 estimate is exact
        x0_hat = chain.sqrt_recip_cum[t][:, None] * xt - chain.sqrt_recipm1_cum[t][:, None] * zero
        assert torch.allclose(x0_hat, x0, atol=1e-5)


def test_diffusion_reads_the_state_and_beats_the_best_constant_price(trained):
    test = reference(400, 5)
    baseline = best_constant(test)  # about 0.949
    trained.config.mode = "policy"
    policy = ratio(trained, test)  # about 0.993
    trained.config.mode = "generate_and_select"
    assert policy > baseline + 0.03
    rng = np.random.default_rng(0)
    random = MECH.utility(test.true, rng.uniform(0.01, 3.0, (400, 1))) / test.optimum
    assert policy > random.mean() + 0.2


def test_generate_and_select_nearly_closes_the_policys_gap(trained):
    test = reference(400, 5)
    trained.config.mode = "policy"
    policy = ratio(trained, test)
    trained.config.mode = "generate_and_select"
    chosen = ratio(trained, test)  # about 0.9988
    assert chosen > 0.997 and 1 - chosen < 0.5 * (1 - policy)


def test_save_and_load_give_identical_actions(trained, tmp_path):
    test = reference(50, 3)
    trained.save(tmp_path / "gdm.safetensors")
    again = DiffusionSolver.load(tmp_path / "gdm.safetensors")
    assert np.array_equal(trained.solve(MECH, test.true), again.solve(MECH, test.true))
    policy = DiffusionSolver.load(tmp_path / "gdm.safetensors", mode="policy")
    assert policy.config.mode == "policy"


def test_a_solver_built_for_a_market_decides_on_one_torch_thread(trained, tmp_path):
    """Batch-1 decisions inside a market: a thread pool costs more than it saves, and a
    sweep runs one simulation per core (no oversubscription)."""
    trained.save(tmp_path / "gdm.safetensors")
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        netsim.solvers.build("diffusion", checkpoint=tmp_path / "gdm.safetensors")
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads)


def test_a_bandwidth_solver_serves_smaller_cells_and_refuses_larger_ones():
    band = BandwidthAuction()
    rng = np.random.default_rng(0)
    states = BandwidthState.create(rng.uniform(0.5, 2.0, (256, 8)),
                                   rng.uniform(1.0, 100.0, (256, 8)))
    solver = PPOSolver(seed=0, hidden=32, batch=128)
    solver.fit(Problem.full_information(band, states), 256)
    small = BandwidthState(states.theta[:4, :5], states.s[:4, :5])
    shares = solver.solve(band, small)
    assert shares.shape == (4, 5) and np.allclose(shares.sum(axis=1), 1.0)
    # the decision on a cell of 5 is the one on the same cell padded to 8 bidders
    assert np.allclose(solver.solve(band, band.pad(small, 8))[:, :5], shares)
    large = BandwidthState.create(rng.uniform(0.5, 2.0, (2, 9)), rng.uniform(1.0, 100.0, (2, 9)))
    with pytest.raises(ValueError, match=r"9 followers but the solver was trained on states "
                                         r"with 8 .*padded up"):
        solver.solve(band, large)
    pricing = PPOSolver(seed=0, hidden=32, batch=128)
    pricing.fit(reference(64, 1), 128)  # Stackelberg games of 5 followers: no padding
    four = StackelbergState.create(np.full((1, 4), 10.0), np.full((1, 4), 30.0),
                                   2.0, 2.0, 3.0, 200.0, 0.01, 3.0, 12)
    with pytest.raises(ValueError, match="has 4 followers but the solver was trained on "
                                         "states with 5: train"):
        pricing.solve(MECH, four)


@pytest.mark.parametrize("reward", ["utility", "gap"])
def test_ppo_improves_over_its_initial_policy_and_beats_the_best_constant_price(reward):
    train, test = reference(512, 0), reference(300, 4)
    before = PPOSolver(seed=0, hidden=64, batch=256, reward=reward)
    before.fit(train, 256)  # one iteration: about the initial policy
    after = PPOSolver(seed=0, hidden=64, batch=256, reward=reward)
    after.fit(train, 256 * 120)
    # utility: about 0.963, gap: 0.962, against 0.930 before and 0.944 for the constant
    assert ratio(after, test) > ratio(before, test) + 0.02
    assert ratio(after, test) > best_constant(test) + 0.01


def test_rewards_by_hand():
    utilities = np.array([2.0, 4.0, 6.0])  # the training states' utilities: mean 4, std 1.633
    plain = RewardScale("utility", utilities)
    assert plain(np.array([7.0]), np.array([9.0])) == pytest.approx([3.0 / np.std(utilities)])
    gap = RewardScale("gap", utilities)  # share of the optimum, less one, whatever its sign
    assert gap(np.array([8.0, -12.0, 10.0]), np.array([10.0, -10.0, 10.0])).tolist() == \
        pytest.approx([-0.2, -0.2, 0.0])
    improved = RewardScale("improved", utilities)  # P1: did it beat the best batch so far?
    assert improved(np.array([1.0, 3.0]), None).tolist() == [0.0, 0.0]  # best mean: 2
    assert improved(np.array([1.0, 2.5]), None).tolist() == [0.0, 1.0]  # best mean stays 2
    assert improved(np.array([3.0, 2.5]), None).tolist() == [1.0, 1.0]  # now 2.75
    assert improved(np.array([2.7, 2.8]), None).tolist() == [0.0, 1.0]
    with pytest.raises(ValueError, match=r"unknown reward 'regret' \(allowed: utility, gap, "):
        RewardScale("regret", utilities)


def test_partial_information_training_learns_to_hedge_against_the_noise():
    """Trained on noisy observations and scored on the truth, the policy learns to shade its
    price below the observed thresholds: it beats plugging the observation into the exact
    solver, which snaps onto thresholds that are often above the true ones."""
    train, test = reference(512, 0, noise=0.3), reference(400, 5, noise=0.3)
    assert not np.allclose(test.observed.alpha, test.true.alpha)
    assert np.array_equal(test.observed.c, test.true.c)  # the leader's own cost is known
    solver = DiffusionSolver(seed=0, hidden=64, batch=128, lr=1e-3, mode="policy")
    solver.fit(train, 128 * 120)
    plug_in = MECH.utility(test.true, MECH.optimum(test.observed)[0]) / test.optimum
    assert (plug_in <= 1.0 + 1e-12).all()
    assert ratio(solver, test) > plug_in.mean() + 0.01  # about 0.981 against 0.962
    assert ratio(solver, test) > best_constant(test) + 0.02


def test_trained_checkpoint_drives_the_market_above_the_best_constant(trained, tmp_path):
    """The case study's first epoch on 8 seeds: the game at t = 0 is drawn before any
    decision, so the constant baseline is scored on the very games the checkpoint played."""
    trained.save(tmp_path / "gdm.safetensors")
    loaded = netsim.load_scenario(SCENARIOS / "paper_case_study.yaml", [
        "horizon_s=60",
        f"market.solver={{name: diffusion, checkpoint: {tmp_path / 'gdm.safetensors'}, "
        "allow_other_scenario: true}"])
    mechanism, states = collect_states(loaded, 256)
    constant = ConstantSolver(seed=0)  # the best single price for the scenario's games
    constant.fit(Problem.full_information(mechanism, states), 256 * 400)
    ours, baseline = [], []
    for seed in range(8):
        netsim.run(loaded, tmp_path / f"s{seed}", seed=seed)
        run = netsim.load_run(tmp_path / f"s{seed}")
        epoch = run.epochs.iloc[0]
        assert epoch.solver == "diffusion"
        game = run.devices[run.devices.alpha.notna() & (run.devices.t == 0.0)]
        alpha, c_max = game.alpha.to_numpy(), game.c_max.to_numpy()
        _, best = stackelberg_optimum(alpha, c_max, epoch.a, epoch.b, 3.0, 200.0, 0.01, 3.0, 12)
        price = constant.solve(MECH, StackelbergState.create(alpha, c_max, epoch.a, epoch.b, 3.0,
                                                             200.0, 0.01, 3.0, 12))[0, 0]
        ours.append(epoch.leader_utility / best)
        baseline.append(stackelberg_leader(alpha, c_max, epoch.a, epoch.b, 3.0, 200.0, price,
                                           12) / best)
    assert max(ours) <= 1 + 1e-12
    assert np.mean(ours) > np.mean(baseline) + 0.003  # 1.000 against 0.994


def test_one_bandwidth_checkpoint_serves_cells_of_every_size_above_equal_shares(tmp_path):
    loaded = netsim.load_scenario(SCENARIOS / "auction_bandwidth.yaml", ["horizon_s=30"])
    mechanism, states = collect_states(loaded, 64)
    assert followers_of(states) == 30  # every state padded to the scenario's 30 devices
    solver = PPOSolver(seed=0, hidden=32, batch=128)
    solver.fit(Problem.full_information(mechanism, states), 1024)
    solver.save(tmp_path / "ppo.safetensors")
    loaded = netsim.load_scenario(SCENARIOS / "auction_bandwidth.yaml", [
        "horizon_s=30", f"market.solver={{name: ppo, checkpoint: {tmp_path / 'ppo.safetensors'}, "
        "allow_other_scenario: true}"])
    sim = netsim.Simulation(loaded, tmp_path / "run")
    sim.market.solver = Witness(sim.market.solver)  # keeps each game the checkpoint decides
    sim.run()
    games = sim.market.solver.games
    epochs = netsim.load_run(tmp_path / "run").epochs
    assert set(epochs.leader) == {"bs0", "bs1"} and len(epochs) == len(games) == 6
    assert epochs.n_followers.nunique() > 1  # cells of different sizes, one solver
    best = np.array([water_filling_welfare(g.theta[0], g.s[0]) for g in games])
    np.testing.assert_allclose(epochs.optimum_utility, best, rtol=1e-6)
    equal = np.array([(g.theta[0] * np.log1p(g.s[0] / g.theta.shape[1])).sum() for g in games])
    ours = epochs.leader_utility.to_numpy() / best
    assert ours.max() <= 1 + 1e-9
    assert ours.mean() > (equal / best).mean() + 0.02  # about 0.998 against 0.963


class Witness:
    """Stands in for a market's solver, deciding as it does and keeping each game it saw."""

    def __init__(self, solver):
        self.solver, self.name, self.games = solver, solver.name, []

    def solve(self, mechanism, state):
        self.games.append(state)
        return self.solver.solve(mechanism, state)


def test_online_training_lifts_a_weak_checkpoint_during_a_run(tmp_path):
    weak = DiffusionSolver(seed=0, hidden=64, batch=128, lr=1e-3)
    weak.fit(reference(256, 0), 128 * 3)  # three steps: it prices far from the optimum
    weak.save(tmp_path / "weak.safetensors")
    loaded = netsim.load_scenario(SCENARIOS / "paper_case_study.yaml", [
        "horizon_s=600",
        f"market.solver={{name: diffusion, checkpoint: {tmp_path / 'weak.safetensors'}, "
        "allow_other_scenario: true, mode: policy, online: true, online_evaluations: 1024}"])
    sim = netsim.Simulation(loaded, tmp_path / "run")
    sim.run()
    assert sim.market.online_updates == 10
    ratio = netsim.load_run(tmp_path / "run").epochs.ratio.to_numpy()
    # the first decision is the checkpoint's own (about 0.23); ten updates later about 0.98
    assert ratio[0] < 0.5 and ratio[-1] > 0.95
    with pytest.raises(netsim.ScenarioError, match="online training needs a learning solver"):
        netsim.load_scenario(SCENARIOS / "paper_case_study.yaml",
                             ["market.solver={name: exact, online: true}"])


def test_states_recorded_from_runs_move_with_the_network():
    loaded = netsim.load_scenario(SCENARIOS / "paper_case_study.yaml", ["horizon_s=180"])
    _, drawn = collect_states(loaded, 2)
    _, recorded = collect_states(loaded, 5, source="runs")
    assert recorded.n_states == 5  # 3 epochs of seed 0, then 2 of seed 1
    # the first epoch of a run is the state drawn at t = 0 of the same seed
    assert np.array_equal(recorded.c_max[0], drawn.c_max[0])
    assert np.array_equal(recorded.c_max[3], drawn.c_max[1])
    # within a run the followers' spare compute drains with their batteries, epoch by epoch
    assert not np.array_equal(recorded.c_max[1], recorded.c_max[0])
    assert np.all(recorded.c_max[2] <= recorded.c_max[1] + 1e-9)
    with pytest.raises(ValueError, match=r"unknown state source 'file' \(allowed: seeds, runs\)"):
        collect_states(loaded, 2, source="file")


def test_best_found_keeps_each_states_best_evaluated_action():
    best = BestFound(3, 1, torch.device("cpu"))
    best.update(np.array([0, 0, 2]), np.array([1.0, 5.0, -2.0]),
                torch.tensor([[0.1], [0.5], [0.9]]))
    best.update(np.array([0, 2, 2]), np.array([4.0, -3.0, -1.0]),
                torch.tensor([[-0.4], [0.3], [-0.7]]))
    assert best.found.tolist() == [True, False, True]
    assert best.utility[[0, 2]].tolist() == [5.0, -1.0]
    assert best.action[[0, 2], 0].tolist() == pytest.approx([0.5, -0.7])


def test_features_outside_the_training_range_are_bounded():
    band = BandwidthAuction()
    rng = np.random.default_rng(1)
    theta = rng.uniform(0.5, 2.0, (64, 3))  # a fourth bidder is padding in every state
    train = band.pad(BandwidthState.create(theta, rng.uniform(1.0, 100.0, (64, 3))), 4)
    scaler = FeatureScaler.fit(band, train)
    wide = BandwidthState.create([[50.0, 1.0, 1.0, 1.0]], [[100.0, 5.0, 5.0, 5.0]])
    scaled = scaler(band, wide, torch.device("cpu")).numpy()[0]
    assert scaled[0] == pytest.approx(FEATURE_CLIP)  # theta 50: far above anything seen
    assert scaled[3] == 0.0 and scaled[7] == 0.0  # a column that never varied is ignored
    assert np.all(np.abs(scaled) <= FEATURE_CLIP)


@pytest.mark.parametrize("make", [lambda: DiffusionSolver(seed=3, hidden=32, batch=64),
                                  lambda: PPOSolver(seed=3, hidden=32, batch=64)])
def test_learned_solvers_draw_only_from_their_own_generators(make):
    problem = reference(64, 2)
    torch.manual_seed(123)
    before = torch.get_rng_state()
    first = make()
    first.fit(problem, 64 * 4)
    actions = first.solve(MECH, problem.observed)
    assert torch.equal(torch.get_rng_state(), before)  # the global generator is untouched
    torch.manual_seed(999)  # whatever else happens globally changes nothing below
    second = make()
    second.fit(problem, 64 * 4)
    np.testing.assert_array_equal(second.solve(MECH, problem.observed), actions)


def test_seeds_trained_side_by_side_give_the_same_results_every_time(tmp_path):
    """Seeds train on threads; each draws only from its own generators, so two trainings
    give identical curves and checkpoints however the threads interleave."""
    from netsim.training import train

    loaded = netsim.load_scenario(SCENARIOS / "paper_case_study.yaml")
    curves = [train(loaded, "diffusion", 3, 2, tmp_path / name, n_states=64, batch=32)
              for name in ("a", "b")]
    columns = ["epoch", "seed", "evaluations", "leader_utility", "ratio"]
    assert curves[0][columns].equals(curves[1][columns])
    assert sorted(curves[0].seed.unique()) == [0, 1]
    for seed in (0, 1):
        name = f"diffusion-seed{seed}.safetensors"
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_mish_with_gradients_matches_torch_mish_and_its_derivative():
    x = torch.linspace(-40.0, 40.0, 20001, dtype=torch.float32, requires_grad=True)
    ours = Mish()(x)
    grad_ours, = torch.autograd.grad(ours.sum(), x)
    reference = torch.nn.functional.mish(x)
    grad_reference, = torch.autograd.grad(reference.sum(), x)
    torch.testing.assert_close(ours, reference, atol=2e-6, rtol=1e-5)
    torch.testing.assert_close(grad_ours, grad_reference, atol=5e-6, rtol=1e-5)
    # closed form at 1: tanh(softplus(1)) and its derivative, by hand
    t = math.tanh(math.log1p(math.e))
    slope = t + (1.0 - t * t) / (1.0 + math.exp(-1.0))
    one = torch.tensor([1.0], requires_grad=True)
    value = Mish()(one)
    value.backward()
    assert value.item() == pytest.approx(t, rel=1e-6)
    assert one.grad.item() == pytest.approx(slope, rel=1e-6)
