export declare const deployCheckVenv: string;
export declare function ensureDeployCheckTools(): { python: string; hadolint: string; kubernetesValidate: string };
