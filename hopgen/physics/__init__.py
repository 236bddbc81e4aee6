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


def hold_test(geom, stop_on_failure=True):
    """The hold test of `geom` as synthesize_grasp(physics=...) takes it (see sim.hold_test)."""
    return simulator().hold_test(geom, stop_on_failure)
