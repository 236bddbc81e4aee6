"""Shading by ray type: let only camera rays pay for a surface's bump (used by the skin, fabric, accessory
and surroundings materials), and the one camera-ray switch that also serves the asset sheet's world."""


def mix_by_camera_ray(tree, camera_shader, other_shader, surface):
    """Link a Mix Shader on Light Path's Is Camera Ray into `surface`: camera rays see `camera_shader`, every
    other ray `other_shader` (output sockets)."""
    ray = tree.nodes.new("ShaderNodeLightPath")
    mix = tree.nodes.new("ShaderNodeMixShader")
    tree.links.new(ray.outputs["Is Camera Ray"], mix.inputs[0])  # Fac 1 (camera ray) -> the second input
    tree.links.new(other_shader, mix.inputs[1])
    tree.links.new(camera_shader, mix.inputs[2])
    tree.links.new(mix.outputs[0], surface)


def camera_rays_only_bump(tree, bsdf, swap=None):
    """Let only camera rays see `bsdf`'s normal (its bump): every other ray (diffuse and glossy
    bounces) is routed to a copy of `bsdf` without it. Cycles skips the unused branch of a Mix
    Shader, so a bump's height graph, which it evaluates three times per shading point, runs for
    camera rays only; what the camera sees is unchanged, only the detail's faint reflection in
    neighbouring surfaces is lost. swap: (socket, replacement) the copy reads instead (e.g. a
    colour without the detail's tint)."""
    out = next(n for n in tree.nodes if n.bl_idname == "ShaderNodeOutputMaterial")
    plain = tree.nodes.new("ShaderNodeBsdfPrincipled")
    plain.distribution, plain.subsurface_method = bsdf.distribution, bsdf.subsurface_method
    for sock, target in zip(bsdf.inputs, plain.inputs):  # the same node type: the same sockets
        if sock.identifier == "Normal":
            continue
        target.default_value = sock.default_value
        if sock.links:
            src = sock.links[0].from_socket
            tree.links.new(swap[1] if swap is not None and src == swap[0] else src, target)
    mix_by_camera_ray(tree, bsdf.outputs[0], plain.outputs[0], out.inputs["Surface"])

