"""Episodes (pure): sample planning and sharding, appearance draws, and the episode builders that turn a
planned episode into an avatar, object, synthesised grasp, animated frames and cameras."""
