"""The procedural hand (pure): kinematics, the skinned hand + forearm mesh, the built-in subjects, and the
canonical hand frame of Zimmermann & Brox."""
