"""Physics check of synthesised grasps: does the object stay in the hand under gravity and a shake?

    from hopgen.physics import check_grasp          # needs the `physics` extra (MuJoCo)
    result = check_grasp(grasp, object_geom)        # PhysicsResult: holds, displacement_mm, epsilon...

hopgen.physics.model (density / friction tables, mass properties), .decompose (convex pieces)
and .epsilon (Ferrari-Canny quality) are pure numpy and import anywhere (Blender too);
hopgen.physics.sim imports MuJoCo (pip install 'hopgen[physics]') and is loaded only when
check_grasp is first used, with a one-line message naming the extra when MuJoCo is missing.
"""


class PhysicsUnavailableError(ValueError):
    """The simulator (MuJoCo, the `physics` extra) is not installed."""


def simulator():
    """The hopgen.physics.sim module, or PhysicsUnavailableError saying how to install MuJoCo."""
    try:
        from hopgen.physics import sim
    except ImportError as e:
        raise PhysicsUnavailableError(str(e)) from None
    return sim


def available():
    """True when MuJoCo can be imported."""
    try:
        simulator()
    except PhysicsUnavailableError:
        return False
    return True


def check_grasp(grasp, geom, hand=None):
    """Run the hold test of a grasp (see hopgen.physics.sim.check_grasp)."""
    return simulator().check_grasp(grasp, geom, hand)


class HoldTest:
    """The hold test of one object as synthesize_grasp(physics=...) takes it: called with
    (grasp, hand) it runs the simulator; mass_kg and epsilon(points, normals) (pure) let the
    synthesis adapt to the object's mass and skip grasps without force closure."""

    def __init__(self, geom, stop_on_failure=True):
        import numpy as np
        from hopgen.physics import model
        self.geom, self.stop_on_failure = geom, stop_on_failure
        self.mass_kg, self.com = model.object_mass_properties(geom)[:2]
        self.friction = float(np.median(model.face_friction(geom)))
        self.scale = float(np.max(np.linalg.norm(np.asarray(geom.vertices) - self.com, axis=1)))

    def epsilon(self, points, normals):
        """Ferrari-Canny epsilon of contacts at points (C, 3) pushing along inward normals (C, 3)."""
        from hopgen.physics import epsilon as eps
        return eps.epsilon_quality(eps.contact_wrenches(points, normals, self.friction, self.com, self.scale))

    def __call__(self, grasp, hand=None):
        return simulator().check_grasp(grasp, self.geom, hand, stop_on_failure=self.stop_on_failure)


def hold_test(geom, stop_on_failure=True):
    """The HoldTest of `geom` for synthesize_grasp(physics=...); the simulator loads on first call."""
    simulator()  # a missing MuJoCo is reported here, before any synthesis work
    return HoldTest(geom, stop_on_failure)
