// The export formats: each makes its files from a checkpoint's model.
import { ExportFormat } from './exported-model';
import { TORCH_FORMAT } from './torch';
import { WEB_FORMAT } from './web';

export const EXPORT_FORMATS: Record<string, ExportFormat> = {
  torch: TORCH_FORMAT,
  web: WEB_FORMAT,
};
