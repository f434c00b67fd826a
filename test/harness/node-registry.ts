import type { INodeType } from 'n8n-workflow';

import { NemoVideoExport } from '../../nodes/NemoVideoExport/NemoVideoExport.node';
import { NemoVideoGenerate } from '../../nodes/NemoVideoGenerate/NemoVideoGenerate.node';
import { NemoVideoPhotoToVideo } from '../../nodes/NemoVideoPhotoToVideo/NemoVideoPhotoToVideo.node';
import { NemoVideoUpload } from '../../nodes/NemoVideoUpload/NemoVideoUpload.node';

/** The pipeline nodes (Credits and Get State are registered in index.ts). */
export function extraNodeTypes(): INodeType[] {
	return [new NemoVideoUpload(), new NemoVideoGenerate(), new NemoVideoExport(), new NemoVideoPhotoToVideo()];
}
